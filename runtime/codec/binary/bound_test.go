package binary

import (
	"bytes"
	"errors"
	"runtime"
	"testing"

	"github.com/lotou-io/lotou/runtime/codec"
)

// allocated returns the bytes f allocates on the heap, measured as
// testing.AllocsPerRun does (one P, runtime.MemStats deltas).
func allocated(f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// allocBound is the measured allocation the tests allow for consumed
// input bytes: the charged budget plus what charges do not model.
func allocBound(consumed int) uint64 {
	return uint64(2*codec.AllocPerByte*consumed + 16<<10)
}

// hidden is large in memory and takes no bytes on the wire.
type hidden struct {
	pad [4096]int64
}

// Hostile holds the shapes whose memory can dwarf their encoding.
type Hostile struct {
	Arr    *[1 << 17]int64
	Hidden []hidden
	PHid   *hidden
	Rows   [][64]int64
	Ptrs   []*[512]int64
	Wide   map[int32][32]int64
	Nested [][]string
}

// TestAllocBoundedByInput decodes short inputs that declare large values:
// each fails before allocating more than its share of the input.
func TestAllocBoundedByInput(t *testing.T) {
	count := func(n uint32) []byte { return []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)} }
	tests := []struct {
		name string
		data []byte
		into any
	}{
		{"pointer to a 1 MiB array, no payload", []byte{1}, new(*[1 << 17]int64)},
		{"slice of wire-empty 32 KiB structs", count(2000), new([]hidden)},
		{"pointer to a wire-empty 32 KiB struct", []byte{1}, new(*hidden)},
		{"slice of arrays, count only", count(1 << 20), new([][64]int64)},
		{"slice of pointers to arrays", append(count(1<<10), bytes.Repeat([]byte{1}, 1<<10)...), new([]*[512]int64)},
		{"map of arrays, count only", count(1 << 20), new(map[int32][32]int64)},
		{"hostile struct, first field", []byte{1, 0, 0}, new(Hostile)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := allocated(func() { err = Unmarshal(tt.data, tt.into) })
			if !errors.Is(err, codec.ErrTruncated) && !errors.Is(err, codec.ErrLimit) {
				t.Errorf("got error %v, want ErrTruncated or ErrLimit", err)
			}
			if n > allocBound(len(tt.data)) {
				t.Errorf("%d input bytes allocated %d bytes, want at most %d", len(tt.data), n, allocBound(len(tt.data)))
			}
		})
	}
}

// TestAllocProportionalToInput: honest large values still decode.
func TestAllocProportionalToInput(t *testing.T) {
	in := Hostile{Arr: &[1 << 17]int64{5: 1}, Rows: make([][64]int64, 100), Ptrs: []*[512]int64{{1}, nil},
		Wide: map[int32][32]int64{1: {2}}, Nested: [][]string{{"a"}, nil, {"b", "c"}}}
	data, err := Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	var out Hostile
	n := allocated(func() { err = Unmarshal(data, &out) })
	if err != nil {
		t.Fatal(err)
	}
	if out.Arr[5] != 1 || len(out.Rows) != 100 || out.Ptrs[0][0] != 1 || out.Wide[1][0] != 2 || out.Nested[2][1] != "c" {
		t.Errorf("decoded %v %v %v %v %v", out.Arr[5], len(out.Rows), out.Ptrs, out.Wide, out.Nested)
	}
	if n > allocBound(len(data)) {
		t.Errorf("%d input bytes allocated %d bytes, want at most %d", len(data), n, allocBound(len(data)))
	}
}

// FuzzUnmarshalAlloc decodes arbitrary bytes into types whose memory can
// dwarf their encoding and asserts the allocation bound on every input.
func FuzzUnmarshalAlloc(f *testing.F) {
	seed, err := Marshal(&Hostile{Arr: &[1 << 17]int64{}, Rows: make([][64]int64, 2), Nested: [][]string{{"x"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte{1})
	f.Add([]byte{0, 0xff, 0xff, 0, 0})
	for _, h := range []*Hero{{Name: "x", Pos: &Pos{1, 2}, Bag: []Pos{{3, 4}}, Stats: map[string]int32{"k": 1}}} {
		data, err := Marshal(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, into := range []func() any{
			func() any { return new(Hostile) }, func() any { return new(Hero) }, func() any { return new(Tree) },
		} {
			ptr := into()
			n := allocated(func() { _ = Unmarshal(data, ptr) })
			if n > allocBound(len(data)) {
				t.Fatalf("%d input bytes into %T allocated %d bytes, want at most %d", len(data), ptr, n, allocBound(len(data)))
			}
		}
	})
}
