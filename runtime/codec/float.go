package codec

import (
	"fmt"
	"math"
	"math/bits"
)

// Compact floats (see doc.go): a first byte 0..8 gives the number of
// significant bytes of the IEEE bits that follow; a first byte 0x10|e
// means a zig-zag varint m follows and the value is m / 10^e.
const (
	decimalForm = 0x10
	maxDecimalE = 8
	maxExact    = 1 << 53
)

var pow10 = [maxDecimalE + 1]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8}

// decimal finds the smallest e with f == m/10^e exactly (as the decoder
// computes it) and returns the encoded size of that form, or 0.
func decimal(f float64, same func(float64) bool) (m int64, e, size int) {
	for e = 0; e <= maxDecimalE; e++ {
		x := math.Round(f * pow10[e])
		if math.Abs(x) >= maxExact || math.IsNaN(x) {
			return 0, 0, 0
		}
		if same(x / pow10[e]) {
			m = int64(x)
			return m, e, 1 + uvarintLen(uint64(m<<1)^uint64(m>>63))
		}
	}
	return 0, 0, 0
}

func uvarintLen(u uint64) int {
	return (bits.Len64(u|1) + 6) / 7
}

// appendFloat64 writes the compact form of f.
func appendFloat64(buf []byte, f float64) []byte {
	b := math.Float64bits(f)
	n := (bits.Len64(bits.ReverseBytes64(b)) + 7) / 8
	if n > 2 {
		same := func(g float64) bool { return math.Float64bits(g) == b }
		if m, e, size := decimal(f, same); size > 0 && size < 1+n {
			return AppendVarint(append(buf, byte(decimalForm|e)), m)
		}
	}
	buf = append(buf, byte(n))
	for i := range n {
		buf = append(buf, byte(b>>(56-8*i)))
	}
	return buf
}

// appendFloat32 writes the compact form of f.
func appendFloat32(buf []byte, f float32) []byte {
	b := math.Float32bits(f)
	n := (bits.Len32(bits.ReverseBytes32(b)) + 7) / 8
	if n > 2 {
		same := func(g float64) bool { return math.Float32bits(float32(g)) == b }
		if m, e, size := decimal(float64(f), same); size > 0 && size < 1+n {
			return AppendVarint(append(buf, byte(decimalForm|e)), m)
		}
	}
	buf = append(buf, byte(n))
	for i := range n {
		buf = append(buf, byte(b>>(24-8*i)))
	}
	return buf
}

// float reads a compact float of at most maxBytes IEEE bytes (8 or 4).
func (d *decoder) float(maxBytes int) (float64, error) {
	if d.pos >= len(d.data) {
		return 0, ErrTruncated
	}
	first := int(d.data[d.pos])
	if first&^0xf == decimalForm && first&0xf <= maxDecimalE {
		d.pos++
		m, err := d.varint()
		if err == nil && (m >= maxExact || m <= -maxExact) {
			err = fmt.Errorf("%w: decimal float mantissa %d too large", ErrMalformed, m)
		}
		return float64(m) / pow10[first&0xf], err
	}
	if first > maxBytes {
		return 0, fmt.Errorf("%w: compact float first byte 0x%02x", ErrMalformed, first)
	}
	if len(d.data)-d.pos < 1+first {
		return 0, ErrTruncated
	}
	var u uint64
	for i := range first {
		u |= uint64(d.data[d.pos+1+i]) << (56 - 8*i)
	}
	d.pos += 1 + first
	if maxBytes == 4 {
		return float64(math.Float32frombits(uint32(u >> 32))), nil
	}
	return math.Float64frombits(u), nil
}

func (d *decoder) float64() (float64, error) { return d.float(8) }

func (d *decoder) float32() (float32, error) {
	f, err := d.float(4)
	return float32(f), err
}
