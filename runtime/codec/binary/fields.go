package binary

import (
	"fmt"
	"math"
	"reflect"
	"time"
	"unsafe"

	"github.com/lotou-io/lotou/runtime/codec"
)

// Struct fields of common kinds are read and written through typed pointers
// (struct address plus field offset) instead of reflect.Value calls. The ops
// are switch cases, not function values, so the decoder stays on the stack.
const (
	opNone byte = iota
	opString
	opBool
	opInt64 // int and int64
	opInt32
	opUint64 // uint and uint64
	opUint32
	opFloat64
	opFloat32
	opTime
)

func fieldOp(t reflect.Type) byte {
	if t == timeType {
		return opTime
	}
	switch t.Kind() {
	case reflect.String:
		return opString
	case reflect.Bool:
		return opBool
	case reflect.Int, reflect.Int64:
		return opInt64
	case reflect.Int32:
		return opInt32
	case reflect.Uint, reflect.Uint64:
		return opUint64
	case reflect.Uint32:
		return opUint32
	case reflect.Float64:
		return opFloat64
	case reflect.Float32:
		return opFloat32
	}
	return opNone
}

func encodeOp(buf []byte, op byte, p unsafe.Pointer) ([]byte, error) {
	switch op {
	case opString:
		s := *(*string)(p)
		buf, err := appendCount(buf, len(s))
		return append(buf, s...), err
	case opBool:
		if *(*bool)(p) {
			return append(buf, 1), nil
		}
		return append(buf, 0), nil
	case opInt64, opUint64:
		return le.AppendUint64(buf, *(*uint64)(p)), nil
	case opInt32, opUint32:
		return le.AppendUint32(buf, *(*uint32)(p)), nil
	case opFloat64:
		return le.AppendUint64(buf, math.Float64bits(*(*float64)(p))), nil
	case opFloat32:
		return le.AppendUint32(buf, math.Float32bits(*(*float32)(p))), nil
	default: // opTime
		t := (*time.Time)(p)
		buf = le.AppendUint64(buf, uint64(t.Unix()))             //nolint:gosec // two's complement
		return le.AppendUint32(buf, uint32(t.Nanosecond())), nil //nolint:gosec // in [0, 1e9)
	}
}

func (d *decoder) decodeOp(op byte, p unsafe.Pointer) error {
	switch op {
	case opString:
		b, err := d.bytes()
		if err != nil {
			return err
		}
		*(*string)(p) = string(b)
	case opBool:
		b, err := d.read(1)
		if err != nil {
			return err
		}
		if b[0] > 1 {
			return fmt.Errorf("%w: bool byte %d", codec.ErrMalformed, b[0])
		}
		*(*bool)(p) = b[0] == 1
	case opInt64, opUint64, opFloat64:
		b, err := d.read(8)
		if err != nil {
			return err
		}
		*(*uint64)(p) = le.Uint64(b)
	case opInt32, opUint32, opFloat32:
		b, err := d.read(4)
		if err != nil {
			return err
		}
		*(*uint32)(p) = le.Uint32(b)
	default: // opTime
		t, err := d.time()
		if err != nil {
			return err
		}
		*(*time.Time)(p) = t
	}
	return nil
}
