package codec

import (
	"errors"
	"runtime"
	"testing"
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

// Measured allocation per consumed input byte allowed by the tests: the
// charged budget (AllocPerByte) plus what the charges do not model (boxing
// primitives, parsing a new descriptor, error messages).
const (
	measuredPerByte = 2 * AllocPerByte
	measuredSlack   = 16 << 10
)

func allocBound(consumed int) uint64 {
	return uint64(measuredPerByte*consumed + measuredSlack)
}

// Big is a registered type much larger than its smallest encoding.
type Big struct {
	Pad [4096]int64
	N   int
}

// TestAllocBoundedByInput decodes short hostile inputs that declare large
// values: each must fail before allocating more than its share.
func TestAllocBoundedByInput(t *testing.T) {
	r := newTestRegistry()
	if err := r.Register(Big{}); err != nil {
		t.Fatal(err)
	}
	bigStruct := append([]byte{tagStruct}, appendName(nil, "codec.Big")...)
	tests := []struct {
		name string
		data []byte
	}{
		// Issue 10: 7 bytes declaring [1<<20]int64 allocated 8 MiB.
		{"array 1<<20 int64 no payload", []byte{0x01, tagArray, 0x80, 0x80, 0x40, tagInt64}},
		{"array 8388608 int64 no payload", []byte{0x01, tagArray, 0x80, 0x80, 0x80, 0x04, tagInt64, 0x00}},
		{"array 8000 int64 no payload", []byte{0x01, tagArray, 0xc0, 0x3e, tagInt64, 0x00}},
		{"array in iface no payload", []byte{0x01, tagSlice, tagIface, 0x02, tagArray, 0x80, 0x80, 0x40, tagInt64}},
		{"ptr to array no payload", []byte{0x01, tagPtr, tagArray, 0x80, 0x80, 0x40, tagInt64, 0x01}},
		{"big struct, no fields on the wire", append(append([]byte{0x01}, bigStruct...), 0x00)},
		{"slice of field-less big structs", append(append([]byte{0x01, tagSlice}, bigStruct...), 0x00, 0x80, 0x80, 0x04)},
		{"slice of empty slices", append([]byte{0x01, tagSlice, tagSlice, tagInt, 0x80, 0x80, 0x04}, make([]byte, 64)...)},
		{"map of 1<<20 entries", []byte{0x01, tagMap, tagInt, tagInt, 0x80, 0x80, 0x40}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			n := allocated(func() { _, err = r.DecodeArgs(tt.data) })
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrLimit) {
				t.Errorf("got error %v, want ErrTruncated or ErrLimit", err)
			}
			if n > allocBound(len(tt.data)) {
				t.Errorf("%d input bytes allocated %d bytes, want at most %d", len(tt.data), n, allocBound(len(tt.data)))
			}
		})
	}
}

// TestAllocProportionalToInput checks that honest large values still
// decode: the bound scales with the input.
func TestAllocProportionalToInput(t *testing.T) {
	r := newTestRegistry()
	if err := r.Register(Big{}); err != nil {
		t.Fatal(err)
	}
	var big Big
	big.Pad[4095], big.N = 7, 9
	in := []any{make([]int64, 100000), [3000]int32{2: 5}, map[int]string{1: "a", 2: "b"}, &big, make([][]byte, 5000)}
	data, err := r.AppendArgs(nil, in)
	if err != nil {
		t.Fatal(err)
	}
	var out []any
	n := allocated(func() { out, err = r.DecodeArgs(data) })
	if err != nil {
		t.Fatal(err)
	}
	if got := out[3].(*Big); got.Pad[4095] != 7 || got.N != 9 {
		t.Errorf("big struct decoded as %v %v", got.Pad[4095], got.N)
	}
	if n > allocBound(len(data)) {
		t.Errorf("%d input bytes allocated %d bytes, want at most %d", len(data), n, allocBound(len(data)))
	}
}

// TestMadeTypesBounded sends arrays of many distinct lengths: the types
// made for them stop at MaxMadeTypes, values of new shapes are refused
// with ErrLimit in interfaces, and typed destinations still work.
func TestMadeTypesBounded(t *testing.T) {
	r := NewRegistry()
	arrayOf := func(n int) []byte {
		b := AppendUvarint([]byte{0x01, tagArray}, uint64(n))
		return append(append(b, tagUint8), make([]byte, n)...)
	}
	var refused int
	for n := 1; n <= MaxMadeTypes+100; n++ {
		if _, err := r.DecodeArgs(arrayOf(n)); err != nil {
			if !errors.Is(err, ErrLimit) {
				t.Fatalf("[%d]uint8: %v", n, err)
			}
			refused++
		}
	}
	if got := r.made.count(); got > MaxMadeTypes {
		t.Errorf("made %d types, want at most %d", got, MaxMadeTypes)
	}
	if refused < 100 {
		t.Errorf("refused %d new shapes past the bound, want at least 100", refused)
	}
	if _, err := r.DecodeArgs(arrayOf(5)); err != nil {
		t.Errorf("a shape made before the bound: %v", err)
	}
	var dst [MaxMadeTypes + 50]uint8
	if _, err := r.DecodeValueInto(arrayOf(len(dst))[1:], &dst); err != nil {
		t.Errorf("typed destination past the bound: %v", err)
	}
	big := AppendUvarint([]byte{0x01, tagArray}, MaxMadeArrayBytes+1)
	big = append(append(big, tagUint8), make([]byte, MaxMadeArrayBytes+1)...)
	if _, err := NewRegistry().DecodeArgs(big); !errors.Is(err, ErrLimit) {
		t.Errorf("array above MaxMadeArrayBytes: got %v, want ErrLimit", err)
	}
}

// FuzzDecodeAlloc decodes arbitrary bytes with the default limits and
// asserts on every input that the bytes allocated stay within the bound
// for the bytes consumed (the whole input when decoding fails).
func FuzzDecodeAlloc(f *testing.F) {
	r := newTestRegistry()
	if err := r.Register(Big{}); err != nil {
		f.Fatal(err)
	}
	for _, g := range goldenValues() {
		buf, err := r.AppendArgs(nil, []any{g.v, g.v})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(buf)
	}
	bigStruct := append([]byte{tagStruct}, appendName(nil, "codec.Big")...)
	f.Add(append(append([]byte{0x01, tagSlice}, bigStruct...), 0x00, 0x80, 0x80, 0x04))
	f.Add([]byte{0x01, tagArray, 0xc0, 0x3e, tagInt64, 0x00})
	f.Add([]byte{0x01, tagSlice, tagIface, 0x02, tagArray, 0x80, 0x40, tagInt64})
	f.Add([]byte{0x01, tagMap, tagInt, tagSlice, tagInt, 0x80, 0x40})
	f.Fuzz(func(t *testing.T, data []byte) {
		// The first sight of a descriptor also parses and caches it and
		// may make its Go type: a one-off cost, bounded by the cache size
		// and MaxMadeTypes, allowed coldSlack. Every later decode of the
		// same input must stay within the bound.
		for _, slack := range []uint64{coldSlack, 0} {
			var err error
			var n int
			got := allocated(func() { _, n, err = r.ReadArgs(data) })
			if err != nil {
				n = len(data)
			}
			if got > allocBound(n)+slack {
				t.Fatalf("%d input bytes allocated %d bytes (error %v), want at most %d", n, got, err, allocBound(n)+slack)
			}
		}
	})
}

// coldSlack is the one-off allocation allowed the first decode of a new
// descriptor: parsing it, copying a descriptor cache shard (at most 64
// entries), making its Go type, and now and then growing the map of made
// types or reflect's own type caches. All of these are bounded in total by
// the cache size and MaxMadeTypes, so they cannot be repeated without end.
const coldSlack = 256 << 10

// TestSeedKeepsNamedTypes: registering a named slice type does not make
// plain slices of its element decode as it.
func TestSeedKeepsNamedTypes(t *testing.T) {
	r := newTestRegistry() // registers Tags []string
	data, err := r.AppendArgs(nil, []any{[]string{"a"}, Tags{"b"}, map[int][]string{1: {"c"}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.DecodeArgs(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[0].([]string); !ok {
		t.Errorf("[]string decoded as %T", got[0])
	}
	if _, ok := got[1].(Tags); !ok {
		t.Errorf("Tags decoded as %T", got[1])
	}
	if _, ok := got[2].(map[int][]string); !ok {
		t.Errorf("map[int][]string decoded as %T", got[2])
	}
}
