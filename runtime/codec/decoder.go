package codec

import (
	"fmt"
	"math"
	"reflect"
	"time"
)

// decoder reads one input; it tracks the position and the allocation budget.
type decoder struct {
	r     *Registry
	data  []byte
	pos   int
	lim   Limits
	alloc int64
	work  int64 // values visited, bounded by WorkSlack and the input (step)
	// committed is the input position a successful decode is sure to
	// reach: lengths already read promise that many payload bytes.
	// Allocation is bounded by AllocPerByte per committed byte.
	committed int
	arena     // memory for boxed values, see arena.go
}

func (r *Registry) newDecoder(data []byte) *decoder {
	return &decoder{r: r, data: data, lim: *r.limits.Load()}
}

// step counts one visited value. Zero-size values (empty structs, arrays of
// them) take no input bytes, so the number of values visited is bounded by
// WorkSlack plus a few per input byte.
func (d *decoder) step(depth int) error {
	if depth > d.lim.MaxDepth {
		return fmt.Errorf("%w: nesting deeper than MaxDepth %d", ErrLimit, d.lim.MaxDepth)
	}
	d.work++
	if limit := WorkSlack + 4*int64(len(d.data)); d.work > limit {
		return fmt.Errorf("%w: more than %d values in %d bytes", ErrLimit, limit, len(d.data))
	}
	return nil
}

func (d *decoder) byte() (byte, error) {
	if d.pos >= len(d.data) {
		return 0, ErrTruncated
	}
	b := d.data[d.pos]
	d.pos++
	return b, nil
}

func (d *decoder) uvarint() (uint64, error) {
	if d.pos < len(d.data) && d.data[d.pos] < 0x80 {
		d.pos++
		return uint64(d.data[d.pos-1]), nil
	}
	u, n, err := ReadUvarint(d.data[d.pos:])
	d.pos += n
	return u, err
}

func (d *decoder) varint() (int64, error) {
	u, err := d.uvarint()
	return unzigzag(u), err
}

// length reads a uvarint count of items of at least minSize bytes each and
// checks it against MaxLen and the input left.
func (d *decoder) length(minSize int) (int, error) {
	u, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	return d.checkLen(u, minSize)
}

func (d *decoder) checkLen(u uint64, minSize int) (int, error) {
	if u > uint64(d.lim.MaxLen) {
		return 0, fmt.Errorf("%w: length %d > MaxLen %d", ErrLimit, u, d.lim.MaxLen)
	}
	n := int(u)
	if minSize > 0 {
		if n > (len(d.data)-d.pos)/minSize {
			return 0, fmt.Errorf("%w: length %d exceeds the %d bytes left", ErrTruncated, n, len(d.data)-d.pos)
		}
		d.committed = max(d.committed, d.pos+n*minSize)
	}
	return n, nil
}

// need checks that at least n more bytes of input are left, before
// allocating for a value whose payload takes at least n bytes.
func (d *decoder) need(n int) error {
	if n > len(d.data)-d.pos {
		return fmt.Errorf("%w: a value of at least %d bytes with %d bytes left", ErrTruncated, n, len(d.data)-d.pos)
	}
	d.committed = max(d.committed, d.pos+n)
	return nil
}

// optLength reads uvarint(len+1) where 0 means nil; it returns -1 for nil.
func (d *decoder) optLength(minSize int) (int, error) {
	u, err := d.uvarint()
	if err != nil || u == 0 {
		return -1, err
	}
	return d.checkLen(u-1, minSize)
}

// charge counts n bytes against MaxAlloc and against the input's share,
// AllocPerByte per committed input byte plus AllocSlack.
func (d *decoder) charge(n int64) error {
	d.alloc += n
	if n < 0 || d.alloc > d.lim.MaxAlloc {
		return fmt.Errorf("%w: decoding would allocate more than MaxAlloc %d bytes", ErrLimit, d.lim.MaxAlloc)
	}
	if d.alloc <= AllocSlack {
		return nil
	}
	if share := AllocPerByte*int64(max(d.committed, d.pos)) + AllocSlack; d.alloc > share {
		return fmt.Errorf("%w: decoding would allocate %d bytes for %d input bytes (at most %d per byte)",
			ErrLimit, d.alloc, max(d.committed, d.pos), AllocPerByte)
	}
	return nil
}

func (d *decoder) chargeN(n int, t reflect.Type) error {
	size := int64(t.Size())
	if size != 0 && int64(n) > d.lim.MaxAlloc/size {
		return fmt.Errorf("%w: %d elements of %v exceed MaxAlloc %d", ErrLimit, n, t, d.lim.MaxAlloc)
	}
	return d.charge(int64(n) * size)
}

// chargeMap charges a map of n entries of type t: a slot per entry plus
// a control byte, at most 8/7 full, and the tables outgrown on the way.
func (d *decoder) chargeMap(n int, t reflect.Type) error {
	slot := int64(t.Key().Size() + t.Elem().Size() + 1)
	if int64(n) > d.lim.MaxAlloc/(2*slot) {
		return fmt.Errorf("%w: map of %d %v exceeds MaxAlloc %d", ErrLimit, n, t, d.lim.MaxAlloc)
	}
	return d.charge(2 * int64(n) * slot)
}

func (d *decoder) bytes() ([]byte, error) {
	n, err := d.length(1)
	if err != nil {
		return nil, err
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) time() (time.Time, error) {
	sec, err := d.varint()
	if err != nil {
		return time.Time{}, err
	}
	ns, err := d.uvarint()
	if err != nil {
		return time.Time{}, err
	}
	if ns>>1 >= 1e9 {
		return time.Time{}, fmt.Errorf("%w: nanoseconds %d out of range", ErrMalformed, ns>>1)
	}
	t := time.Unix(sec, int64(ns>>1))
	if ns&1 == 0 {
		return t.UTC(), nil
	}
	off, err := d.varint()
	if err != nil {
		return time.Time{}, err
	}
	if off < -24*3600 || off > 24*3600 {
		return time.Time{}, fmt.Errorf("%w: zone offset %d out of range", ErrMalformed, off)
	}
	if _, local := t.Zone(); int64(local) == off {
		return t, nil
	}
	return t.In(time.FixedZone("", int(off))), nil
}

// value decodes desc+payload with its natural Go type.
func (d *decoder) value() (any, error) {
	wt, err := d.desc()
	if err != nil {
		return nil, err
	}
	if wt.tag == tagNil {
		return nil, nil
	}
	if isPrim(wt.tag) && wt.tag != tagBytes {
		return d.primAny(wt.tag)
	}
	return d.natural(wt, 0)
}

// natural decodes the payload of wt into a new value of its natural type.
func (d *decoder) natural(wt *wireType, depth int) (any, error) {
	if wt.goType == nil {
		return nil, wt.goErr
	}
	if err := d.need(wt.minSize); err != nil {
		return nil, err
	}
	if err := d.chargeN(1, wt.goType); err != nil {
		return nil, err
	}
	if wt.goType.Kind() == reflect.Interface {
		// An interface slot: the value is whatever it holds.
		v := reflect.New(wt.goType).Elem()
		if err := d.into(wt, v, depth); err != nil {
			return nil, err
		}
		return v.Interface(), nil
	}
	p := d.newValue(wt.goType, wt.noPtr)
	if err := d.into(wt, reflect.NewAt(wt.goType, p).Elem(), depth); err != nil {
		return nil, err
	}
	return boxAt(wt.goType, p), nil
}

// primAny decodes a primitive payload (not bytes) into an interface.
func (d *decoder) primAny(tag byte) (any, error) {
	switch tag {
	case tagBool:
		b, err := d.bool()
		return b, err
	case tagInt8:
		b, err := d.byte()
		return int8(b), err
	case tagUint8:
		b, err := d.byte()
		return b, err
	case tagFloat32:
		return d.float32()
	case tagFloat64:
		f, err := d.float64()
		if err != nil || f == 0 {
			return f, err
		}
		return box8(d, primWire[tagFloat64].goType, f), nil
	case tagString:
		b, err := d.bytes()
		if err != nil {
			return nil, err
		}
		if err := d.charge(int64(len(b))); err != nil {
			return nil, err
		}
		return d.boxString(d.string(b)), nil
	case tagTime:
		return d.time()
	}
	return d.numAny(tag)
}

func (d *decoder) numAny(tag byte) (any, error) {
	switch tag {
	case tagInt, tagInt16, tagInt32, tagInt64, tagDuration:
		i, err := d.varint()
		if err != nil {
			return nil, err
		}
		if uint64(i) >= 256 { // smaller ones box without allocating
			switch tag {
			case tagInt:
				return box8(d, primWire[tagInt].goType, int(i)), nil
			case tagInt64:
				return box8(d, primWire[tagInt64].goType, i), nil
			case tagDuration:
				return box8(d, durationType, time.Duration(i)), nil
			}
		}
		return intAny(tag, i)
	case tagUint, tagUint16, tagUint32, tagUint64:
		u, err := d.uvarint()
		if err != nil {
			return nil, err
		}
		if u >= 256 {
			switch tag {
			case tagUint:
				return box8(d, primWire[tagUint].goType, uint(u)), nil
			case tagUint64:
				return box8(d, primWire[tagUint64].goType, u), nil
			}
		}
		return uintAny(tag, u)
	default: // complex
		v := reflect.New(primWire[tag].goType).Elem()
		if err := d.into(primWire[tag], v, 0); err != nil {
			return nil, err
		}
		return v.Interface(), nil
	}
}

func intAny(tag byte, i int64) (any, error) {
	switch tag {
	case tagInt:
		return int(i), nil
	case tagInt16:
		if i < math.MinInt16 || i > math.MaxInt16 {
			return nil, fmt.Errorf("%w: %d overflows int16", ErrMalformed, i)
		}
		return int16(i), nil
	case tagInt32:
		if i < math.MinInt32 || i > math.MaxInt32 {
			return nil, fmt.Errorf("%w: %d overflows int32", ErrMalformed, i)
		}
		return int32(i), nil
	case tagDuration:
		return time.Duration(i), nil
	default:
		return i, nil
	}
}

func uintAny(tag byte, u uint64) (any, error) {
	switch tag {
	case tagUint:
		return uint(u), nil
	case tagUint16:
		if u > math.MaxUint16 {
			return nil, fmt.Errorf("%w: %d overflows uint16", ErrMalformed, u)
		}
		return uint16(u), nil
	case tagUint32:
		if u > math.MaxUint32 {
			return nil, fmt.Errorf("%w: %d overflows uint32", ErrMalformed, u)
		}
		return uint32(u), nil
	default:
		return u, nil
	}
}

func (d *decoder) bool() (bool, error) {
	b, err := d.byte()
	if err == nil && b > 1 {
		err = fmt.Errorf("%w: bool byte %d", ErrMalformed, b)
	}
	return b == 1, err
}
