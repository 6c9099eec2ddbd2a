package codec

import (
	"reflect"
	"testing"
	"unsafe"
)

// abiTypeHead is the start of the runtime's internal/abi.Type (Go 1.26):
// enough to read the size and the TFlagDirectIface bit the compiler sets.
type abiTypeHead struct {
	size     uintptr
	ptrBytes uintptr
	hash     uint32
	tflag    uint8
}

const tflagDirectIface = 1 << 5

// runtimeDirect reports how the runtime really stores a t in an interface.
func runtimeDirect(t *testing.T, typ reflect.Type) bool {
	t.Helper()
	v := reflect.Zero(typ).Interface()
	h := (*abiTypeHead)((*[2]unsafe.Pointer)(unsafe.Pointer(&v))[0])
	if h.size != typ.Size() {
		t.Fatalf("abi.Type layout changed: size %d, reflect says %d", h.size, typ.Size())
	}
	return h.tflag&tflagDirectIface != 0
}

type (
	onePtr      struct{ P *int }
	marker      struct{}
	zeroThenPtr struct {
		Z marker
		P *int
	}
	ptrThenZero struct {
		P *int
		Z marker
	}
	arrOfPtr    [1]*int
	nestedPtr   struct{ In onePtr }
	arrOfStruct [1]zeroThenPtr
	twoPtrs     struct{ A, B *int }
	mapOnly     struct{ M map[string]int }
	intOnly     struct{ N int }
	emptyStruct struct{}
	zeroArray   struct {
		Z [0]*int
		P *string
	}
)

// TestDirectIfaceMatchesRuntime pins directIface to the runtime's own
// flag: a mismatch would make the encoder read an interface's data word
// as a pointer to the value (memory corruption).
func TestDirectIfaceMatchesRuntime(t *testing.T) {
	types := []any{
		0, "", []int(nil), map[int]int(nil), (*int)(nil), (chan int)(nil), func() {}, unsafe.Pointer(nil),
		onePtr{}, zeroThenPtr{}, ptrThenZero{}, arrOfPtr{}, nestedPtr{}, arrOfStruct{}, twoPtrs{},
		mapOnly{}, intOnly{}, emptyStruct{}, zeroArray{}, [0]int{}, [2]*int{}, [1]int{}, any(nil), Point{},
	}
	for _, x := range types {
		typ := reflect.TypeOf(x)
		if typ == nil {
			continue
		}
		t.Run(typ.String(), func(t *testing.T) {
			if got, want := directIface(typ), runtimeDirect(t, typ); got != want {
				t.Errorf("directIface(%v) = %v, runtime says %v", typ, got, want)
			}
		})
	}
}

// TestPointerShapedRoundTrip encodes registered structs and arrays that the
// runtime stores directly in an interface word, through the []any path.
func TestPointerShapedRoundTrip(t *testing.T) {
	r := NewRegistry()
	for _, v := range []any{marker{}, onePtr{}, zeroThenPtr{}, ptrThenZero{}, nestedPtr{}, arrOfStruct{}, twoPtrs{}, mapOnly{}, zeroArray{}} {
		if err := r.Register(v); err != nil {
			t.Fatalf("registering %T: %v", v, err)
		}
	}
	n, s := 7, "seven"
	tests := []struct {
		name string
		in   any
	}{
		{"one pointer", onePtr{P: &n}},
		{"zero-size field then pointer", zeroThenPtr{P: &n}},
		{"pointer then zero-size field", ptrThenZero{P: &n}},
		{"nested one-pointer struct", nestedPtr{In: onePtr{P: &n}}},
		{"array of pointer-shaped struct", arrOfStruct{{P: &n}}},
		{"two pointers", twoPtrs{A: &n, B: &n}},
		{"map field", mapOnly{M: map[string]int{"a": 1}}},
		{"zero array then pointer", zeroArray{P: &s}},
		{"nil pointer", zeroThenPtr{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, err := r.AppendArgs(nil, []any{tt.in})
			if err != nil {
				t.Fatalf("encoding: %v", err)
			}
			got, err := r.DecodeArgs(buf)
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.in) {
				t.Errorf("round trip of %#v gave %#v", tt.in, got)
			}
		})
	}
}
