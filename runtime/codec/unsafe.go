package codec

import (
	"fmt"
	"math"
	"reflect"
	"time"
	"unsafe"
)

// Struct fields of common primitive kinds are read and written through
// pointers (offset from the struct's address) rather than reflect.Value
// calls, as encoding/gob's compiled ops do. The pointers are typed, so the
// garbage collector's write barriers apply.

// ptrEnc appends the payload of the value at p.
type ptrEnc func(buf []byte, p unsafe.Pointer) []byte

// ptrEncoder returns a pointer encoder for t, or nil.
func ptrEncoder(t reflect.Type) ptrEnc {
	if t == timeType {
		return func(buf []byte, p unsafe.Pointer) []byte { return appendTime(buf, *(*time.Time)(p)) }
	}
	switch t.Kind() {
	case reflect.String:
		return func(buf []byte, p unsafe.Pointer) []byte { return AppendString(buf, *(*string)(p)) }
	case reflect.Bool:
		return func(buf []byte, p unsafe.Pointer) []byte { return appendBool(buf, *(*bool)(p)) }
	case reflect.Int:
		return func(buf []byte, p unsafe.Pointer) []byte { return AppendVarint(buf, int64(*(*int)(p))) }
	case reflect.Int64:
		return func(buf []byte, p unsafe.Pointer) []byte { return AppendVarint(buf, *(*int64)(p)) }
	case reflect.Int32:
		return func(buf []byte, p unsafe.Pointer) []byte { return AppendVarint(buf, int64(*(*int32)(p))) }
	case reflect.Uint64:
		return func(buf []byte, p unsafe.Pointer) []byte { return AppendUvarint(buf, *(*uint64)(p)) }
	case reflect.Uint32:
		return func(buf []byte, p unsafe.Pointer) []byte { return AppendUvarint(buf, uint64(*(*uint32)(p))) }
	case reflect.Float64:
		return func(buf []byte, p unsafe.Pointer) []byte { return appendFloat64(buf, *(*float64)(p)) }
	case reflect.Float32:
		return func(buf []byte, p unsafe.Pointer) []byte { return appendFloat32(buf, *(*float32)(p)) }
	}
	return nil
}

// Pointer decoder ops: a method with a switch rather than function values,
// so that the decoder does not escape to the heap.
const (
	opNone byte = iota
	opString
	opBool
	opInt64
	opUint64
	opFloat64
	opTime
	opInt32
	opFloat32
)

// ptrOp returns the op decoding wire tag into local type t directly, when
// t's kind is the tag's natural kind, or opNone.
func ptrOp(tag byte, t reflect.Type) byte {
	k := t.Kind()
	switch {
	case tag == tagString && k == reflect.String:
		return opString
	case tag == tagBool && k == reflect.Bool:
		return opBool
	case tag == tagInt && k == reflect.Int && math.MaxInt == math.MaxInt64,
		(tag == tagInt64 || tag == tagDuration) && k == reflect.Int64:
		return opInt64
	case tag == tagUint64 && k == reflect.Uint64:
		return opUint64
	case tag == tagFloat64 && k == reflect.Float64:
		return opFloat64
	case tag == tagTime && t == timeType:
		return opTime
	case tag == tagInt32 && k == reflect.Int32:
		return opInt32
	case tag == tagFloat32 && k == reflect.Float32:
		return opFloat32
	}
	return opNone
}

// decodeOp decodes a payload with op into the value at p.
func (d *decoder) decodeOp(op byte, p unsafe.Pointer) error {
	var err error
	switch op {
	case opString:
		var b []byte
		if b, err = d.bytes(); err == nil {
			if err = d.charge(int64(len(b))); err == nil {
				*(*string)(p) = string(b)
			}
		}
	case opBool:
		*(*bool)(p), err = d.bool()
	case opInt64:
		*(*int64)(p), err = d.varint()
	case opUint64:
		*(*uint64)(p), err = d.uvarint()
	case opFloat64:
		*(*float64)(p), err = d.float64()
	case opTime:
		var t time.Time
		if t, err = d.time(); err == nil {
			*(*time.Time)(p) = t
		}
	case opInt32:
		var i int64
		if i, err = d.varint(); err == nil {
			if i < math.MinInt32 || i > math.MaxInt32 {
				return fmt.Errorf("%w: %d overflows int32", ErrMalformed, i)
			}
			*(*int32)(p) = int32(i)
		}
	case opFloat32:
		*(*float32)(p), err = d.float32()
	}
	return err
}

// directIface reports whether values of t are stored directly in an
// interface's data word, mirroring the compiler's rule (Go 1.26,
// types.IsDirectIface): the type is one word wide and that word is a
// pointer. So struct{ _ [0]int; p *int } and [1]*T are direct, while
// struct{ p *int; _ struct{} } (padded to two words) is not. Getting this
// wrong would make efaceData's word be read as a pointer to the value;
// TestDirectIfaceMatchesRuntime checks the rule against the runtime's flag.
func directIface(t reflect.Type) bool {
	return t.Size() == unsafe.Sizeof(uintptr(0)) && pointerWord(t)
}

// pointerWord reports whether t, one word wide, holds a pointer in that word.
func pointerWord(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.Type.Size() != 0 {
				return f.Type.Size() == t.Size() && pointerWord(f.Type)
			}
		}
	case reflect.Array:
		return t.Len() == 1 && pointerWord(t.Elem())
	}
	return false
}

// boxAt returns the value of type t stored at p as an interface, without
// the copy reflect.Value.Interface makes of an addressable value: for a
// type that is not pointer-shaped the interface's data word is p itself, so
// the memory at p must not change afterwards (the decoder allocated it for
// this value alone). TestBoxAt checks it against reflect.
func boxAt(t reflect.Type, p unsafe.Pointer) any {
	var x any
	w := (*[2]unsafe.Pointer)(unsafe.Pointer(&x))      //nolint:gosec // G103: eface layout {type, data}, see TestBoxAt
	w[0] = (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1] //nolint:gosec // G103: a reflect.Type's data word is its *abi.Type
	if directIface(t) {
		w[1] = *(*unsafe.Pointer)(p)
	} else {
		w[1] = p
	}
	return x
}
