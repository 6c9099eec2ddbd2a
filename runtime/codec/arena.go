package codec

import (
	"reflect"
	"time"
	"unsafe"
)

// Decoding an argument list into []any boxes every value. Rather than one
// heap allocation per box (and two for a string or a slice: its bytes and
// its header), a decode carves small values out of two chunks it
// allocates on first use:
//
//   - raw, a []byte: the memory of pointer-free values (numbers, structs
//     and arrays of them) and the bytes of short strings and of short slices
//     with pointer-free elements. The garbage collector never scans it, and
//     nothing stored there holds a pointer.
//   - hdrs, a []header: string and slice headers, whose first word is the
//     only pointer, as header's is, so the collector scans them correctly.
//
// A value handed out points into a chunk and keeps it alive, so chunks are
// small (rawChunk, hdrChunk): a kept argument pins at most a few hundred
// bytes. Values larger than maxArenaValue get their own allocation.
const (
	rawChunk      = 256
	minRawChunk   = 32
	maxArenaValue = 128
	hdrChunk      = 4
)

// header has the layout of a slice header and begins like a string header.
type header struct {
	data     unsafe.Pointer
	len, cap int
}

// arena is the per-decode state of the two chunks.
type arena struct {
	raw  []byte   // free space is raw[len(raw):cap(raw)]
	hdrs []header // free slots are hdrs[len(hdrs):cap(hdrs)]
}

// rawAlloc returns size zeroed bytes aligned to 8 for a pointer-free value,
// or nil if the value is too large for the arena. A new chunk is sized to
// what the rest of the input is likely to need.
func (d *decoder) rawAlloc(size uintptr) unsafe.Pointer {
	if size == 0 || size > maxArenaValue {
		return nil
	}
	off := (uintptr(len(d.raw)) + 7) &^ 7
	if off+size > uintptr(cap(d.raw)) {
		d.raw = make([]byte, 0, min(max(2*uintptr(len(d.data)-d.pos), minRawChunk, size), rawChunk))
		off = 0
	}
	d.raw = d.raw[:off+size]
	return unsafe.Pointer(&d.raw[off]) //nolint:gosec // G103: see the arena comment
}

// hdrAlloc returns a zeroed header slot.
func (d *decoder) hdrAlloc() unsafe.Pointer {
	if len(d.hdrs) == cap(d.hdrs) {
		d.hdrs = make([]header, 0, hdrChunk)
	}
	d.hdrs = d.hdrs[:len(d.hdrs)+1]
	return unsafe.Pointer(&d.hdrs[len(d.hdrs)-1]) //nolint:gosec // G103: see the arena comment
}

// string returns b as a string, its bytes copied into the arena if short.
func (d *decoder) string(b []byte) string {
	p := d.rawAlloc(uintptr(len(b)))
	if p == nil {
		return string(b)
	}
	copy(unsafe.Slice((*byte)(p), len(b)), b) //nolint:gosec // G103: p has len(b) bytes, see the arena comment
	return unsafe.String((*byte)(p), len(b))  //nolint:gosec // G103: the bytes are never written again
}

// boxString returns s in an interface whose header lives in the arena.
func (d *decoder) boxString(s string) any {
	p := d.hdrAlloc()
	*(*string)(p) = s
	return boxAt(stringType, p)
}

// box8 returns the 8-byte pointer-free value v of type t (an integer or
// float kind) in an interface, its memory carved from the arena.
func box8[T int | int64 | uint | uint64 | float64 | time.Duration](d *decoder, t reflect.Type, v T) any {
	p := d.rawAlloc(8)
	*(*T)(p) = v
	return boxAt(t, p)
}

// newValue returns zeroed memory for a value of type t (whose pointer
// layout is described by noPtr) to be boxed with boxAt: from the arena
// when it fits, else a new heap value.
func (d *decoder) newValue(t reflect.Type, noPtr bool) unsafe.Pointer {
	switch {
	case t.Kind() == reflect.String || t.Kind() == reflect.Slice:
		return d.hdrAlloc()
	case noPtr:
		if p := d.rawAlloc(t.Size()); p != nil {
			return p
		}
	}
	return reflect.New(t).UnsafePointer()
}

// makeSlice sets the addressable slice v to a new slice of n zeroed
// elements, its backing array in the arena when the elements hold no
// pointers and it fits.
func (d *decoder) makeSlice(v reflect.Value, n int, noPtrElem bool) {
	if noPtrElem && v.CanAddr() {
		if p := d.rawAlloc(uintptr(n) * v.Type().Elem().Size()); p != nil {
			*(*header)(v.Addr().UnsafePointer()) = header{data: p, len: n, cap: n}
			return
		}
	}
	v.Set(reflect.MakeSlice(v.Type(), n, n))
}

// noPointers reports whether values of t hold no pointers, so that they
// may live in memory the garbage collector does not scan.
func noPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() == 0 || noPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !noPointers(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}
