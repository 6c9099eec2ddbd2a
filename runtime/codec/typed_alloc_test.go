package codec

import (
	"reflect"
	"testing"
)

// typedDests are parameter lists of handlers whose memory can dwarf their
// encoding: the typed remote path (DecodeArgsValues) decodes a call straight
// into them, sized by what the wire says.
func typedDests() [][]reflect.Type {
	return [][]reflect.Type{
		{reflect.TypeFor[[]Big]()},
		{reflect.TypeFor[map[string][]int64](), reflect.TypeFor[string]()},
		{reflect.TypeFor[*[1 << 10]int64]()},
		{reflect.TypeFor[[][]string]()},
		{reflect.TypeFor[map[int]*Big]()},
		{reflect.TypeFor[[]*Big](), reflect.TypeFor[int]()},
		{reflect.TypeFor[[]any]()},
		{reflect.TypeFor[[8][1024]int64]()},
	}
}

// FuzzDecodeArgsValuesAlloc is FuzzDecodeAlloc for the typed path: the
// bytes allocated decoding arbitrary input into typedDests stay within the
// bound for the input's size (the []any path has its own fuzz target).
func FuzzDecodeArgsValuesAlloc(f *testing.F) {
	r := newTestRegistry()
	if err := r.Register(Big{}); err != nil {
		f.Fatal(err)
	}
	for _, args := range [][]any{
		{[]Big{{N: 1}}},
		{map[string][]int64{"a": {1, 2}}, "x"},
		{&[1 << 10]int64{}},
		{[][]string{{"a"}, nil}},
		{map[int]*Big{1: {N: 2}}},
		{[]*Big{nil, {}}, 3},
		{[]any{1, "a", []int64{2}}},
		{make([]Big, 3)},
	} {
		b, err := r.AppendArgs(nil, args)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Declared lengths far beyond the payload, for each shape.
	f.Add([]byte{0x01, tagSlice, tagStruct, 0x80, 0x80, 0x04})
	f.Add([]byte{0x01, tagMap, tagString, tagSlice, tagInt64, 0x80, 0x80, 0x40})
	f.Add([]byte{0x01, tagSlice, tagStruct, 0x00, 0xff, 0xff, 0xff, 0x0f})
	dests := typedDests()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, types := range dests {
			vals := make([]reflect.Value, len(types))
			for i, ty := range types {
				vals[i] = reflect.New(ty).Elem()
			}
			// Made outside the measure: the handler's parameters exist
			// before any call.
			for _, slack := range []uint64{coldSlack, 0} {
				var err error
				got := allocated(func() { err = r.DecodeArgsValues(data, vals) })
				if got > allocBound(len(data))+slack {
					t.Fatalf("%d input bytes into %v allocated %d bytes (error %v), want at most %d",
						len(data), types, got, err, allocBound(len(data))+slack)
				}
				for _, v := range vals {
					v.SetZero()
				}
			}
		}
	})
}
