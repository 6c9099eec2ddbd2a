package binary

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/lotou-io/lotou/runtime/codec"
)

var le = binary.LittleEndian

func primPlan(t reflect.Type, p *plan) error {
	size := 0
	switch t.Kind() {
	case reflect.Bool, reflect.Int8, reflect.Uint8:
		size = 1
	case reflect.Int16, reflect.Uint16:
		size = 2
	case reflect.Int32, reflect.Uint32, reflect.Float32:
		size = 4
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Float64, reflect.Complex64:
		size = 8
	case reflect.Complex128:
		size = 16
	default:
		return fmt.Errorf("%w: %v of kind %v", codec.ErrUnsupported, t, t.Kind())
	}
	p.minSize = size
	p.enc = primEnc(t.Kind(), size)
	p.dec = primDec(t.Kind(), size)
	return nil
}

func primEnc(k reflect.Kind, size int) encFunc {
	switch k {
	case reflect.Bool:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) {
			if v.Bool() {
				return append(buf, 1), nil
			}
			return append(buf, 0), nil
		}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int, reflect.Int64:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) {
			return appendN(buf, uint64(v.Int()), size), nil
		} //nolint:gosec // two's complement
	case reflect.Float32:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) {
			return le.AppendUint32(buf, math.Float32bits(float32(v.Float()))), nil
		}
	case reflect.Float64:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) {
			return le.AppendUint64(buf, math.Float64bits(v.Float())), nil
		}
	case reflect.Complex64:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) {
			c := v.Complex()
			buf = le.AppendUint32(buf, math.Float32bits(float32(real(c))))
			return le.AppendUint32(buf, math.Float32bits(float32(imag(c)))), nil
		}
	case reflect.Complex128:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) {
			c := v.Complex()
			buf = le.AppendUint64(buf, math.Float64bits(real(c)))
			return le.AppendUint64(buf, math.Float64bits(imag(c))), nil
		}
	default: // unsigned
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) { return appendN(buf, v.Uint(), size), nil }
	}
}

func appendN(buf []byte, u uint64, size int) []byte {
	for i := range size {
		buf = append(buf, byte(u>>(8*i)))
	}
	return buf
}

func readN(b []byte) uint64 {
	var u uint64
	for i, x := range b {
		u |= uint64(x) << (8 * i)
	}
	return u
}

func primDec(k reflect.Kind, size int) decFunc {
	switch k {
	case reflect.Bool:
		return func(d *decoder, v reflect.Value, _ int) error {
			b, err := d.read(1)
			if err != nil {
				return err
			}
			if b[0] > 1 {
				return fmt.Errorf("%w: bool byte %d", codec.ErrMalformed, b[0])
			}
			v.SetBool(b[0] == 1)
			return nil
		}
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int, reflect.Int64:
		shift := 64 - 8*size
		return func(d *decoder, v reflect.Value, _ int) error {
			b, err := d.read(size)
			if err != nil {
				return err
			}
			v.SetInt(int64(readN(b)<<shift) >> shift) //nolint:gosec // sign extension
			return nil
		}
	case reflect.Float32, reflect.Float64:
		return func(d *decoder, v reflect.Value, _ int) error {
			b, err := d.read(size)
			if err != nil {
				return err
			}
			v.SetFloat(floatOf(b))
			return nil
		}
	case reflect.Complex64, reflect.Complex128:
		return func(d *decoder, v reflect.Value, _ int) error {
			b, err := d.read(size)
			if err != nil {
				return err
			}
			v.SetComplex(complex(floatOf(b[:size/2]), floatOf(b[size/2:])))
			return nil
		}
	default: // unsigned
		return func(d *decoder, v reflect.Value, _ int) error {
			b, err := d.read(size)
			if err != nil {
				return err
			}
			v.SetUint(readN(b))
			return nil
		}
	}
}

func floatOf(b []byte) float64 {
	if len(b) == 4 {
		return float64(math.Float32frombits(le.Uint32(b)))
	}
	return math.Float64frombits(le.Uint64(b))
}

func encString(buf []byte, v reflect.Value, _ int) ([]byte, error) {
	s := v.String()
	buf, err := appendCount(buf, len(s))
	return append(buf, s...), err
}

func decString(d *decoder, v reflect.Value, _ int) error {
	b, err := d.bytes()
	if err != nil {
		return err
	}
	v.SetString(string(b))
	return nil
}

func encBytes(buf []byte, v reflect.Value, _ int) ([]byte, error) {
	b := v.Bytes()
	buf, err := appendCount(buf, len(b))
	return append(buf, b...), err
}

func decBytes(d *decoder, v reflect.Value, _ int) error {
	b, err := d.bytes()
	if err != nil {
		return err
	}
	if len(b) == 0 {
		v.SetZero()
		return nil
	}
	out := reflect.MakeSlice(v.Type(), len(b), len(b))
	copy(out.Bytes(), b)
	v.Set(out)
	return nil
}

func encTime(buf []byte, v reflect.Value, _ int) ([]byte, error) {
	var t time.Time
	if v.CanAddr() {
		t = *v.Addr().Interface().(*time.Time)
	} else {
		t = v.Interface().(time.Time)
	}
	buf = le.AppendUint64(buf, uint64(t.Unix()))             //nolint:gosec // two's complement
	return le.AppendUint32(buf, uint32(t.Nanosecond())), nil //nolint:gosec // in [0, 1e9)
}

func (d *decoder) time() (time.Time, error) {
	b, err := d.read(12)
	if err != nil {
		return time.Time{}, err
	}
	ns := le.Uint32(b[8:])
	if ns >= 1e9 {
		return time.Time{}, fmt.Errorf("%w: nanoseconds %d out of range", codec.ErrMalformed, ns)
	}
	return time.Unix(int64(le.Uint64(b)), int64(ns)).UTC(), nil //nolint:gosec // two's complement
}

func decTime(d *decoder, v reflect.Value, _ int) error {
	t, err := d.time()
	if err != nil {
		return err
	}
	if v.CanAddr() {
		*v.Addr().Interface().(*time.Time) = t
	} else {
		v.Set(reflect.ValueOf(t))
	}
	return nil
}
