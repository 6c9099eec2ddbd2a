package codec

import (
	"errors"
	"strings"
	"testing"
)

type unregistered struct{ X int }

func TestEncodeErrors(t *testing.T) {
	r := newTestRegistry()
	tests := []struct {
		name string
		in   any
		want error
		text string
	}{
		{"unregistered struct", unregistered{}, ErrUnknownType, "codec.unregistered"},
		{"unregistered in slice", []unregistered{{}}, ErrUnknownType, "codec.unregistered"},
		{"unregistered in any", []any{1, &unregistered{}}, ErrUnknownType, "codec.unregistered"},
		{"chan", make(chan int), ErrUnsupported, "chan int"},
		{"func", func() {}, ErrUnsupported, "func()"},
		{"uintptr", uintptr(1), ErrUnsupported, "uintptr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := []byte{9}
			out, err := r.AppendValue(buf, tt.in)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("got %v, want %v naming %q", err, tt.want, tt.text)
			}
			if len(out) != 1 {
				t.Errorf("buffer grew to % x on error", out)
			}
		})
	}
}

func TestEncodeCycle(t *testing.T) {
	r := newTestRegistry()
	n := &Node{Value: 1}
	n.Next = n
	if _, err := r.AppendValue(nil, n); !errors.Is(err, ErrLimit) {
		t.Errorf("cyclic list: %v, want ErrLimit", err)
	}
}

func TestRegisterErrors(t *testing.T) {
	r := NewRegistry()
	for _, v := range []any{nil, 1, []int{}, struct{}{}, make(chan int)} {
		if err := r.Register(v); err == nil {
			t.Errorf("Register(%T) succeeded", v)
		}
	}
	if err := r.RegisterName("p", Point{}); err != nil {
		t.Fatal(err)
	}
	if err := r.RegisterName("p", Point{}); err != nil {
		t.Errorf("re-registering the same pair: %v", err)
	}
	if err := r.RegisterName("p", Node{}); err == nil {
		t.Error("name reused for another type")
	}
	if err := r.RegisterName("q", &Point{}); err == nil {
		t.Error("type registered under a second name")
	}
}

func TestDecodeUnknownStruct(t *testing.T) {
	buf, err := newTestRegistry().AppendValue(nil, []Point{{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = NewRegistry().DecodeValue(buf)
	if !errors.Is(err, ErrUnknownType) || !strings.Contains(err.Error(), "codec.Point") {
		t.Errorf("got %v, want ErrUnknownType naming codec.Point", err)
	}
}

// TestTruncated decodes every proper prefix of valid encodings.
func TestTruncated(t *testing.T) {
	r := newTestRegistry()
	for _, in := range goldenValues() {
		buf, err := r.AppendArgs(nil, []any{in.v})
		if err != nil {
			t.Fatal(err)
		}
		for i := range len(buf) {
			if _, err := r.DecodeArgs(buf[:i]); err == nil {
				t.Errorf("%s: prefix of %d/%d bytes decoded without error", in.name, i, len(buf))
			}
		}
	}
}

func TestLimits(t *testing.T) {
	r := newTestRegistry()
	r.SetLimits(Limits{MaxLen: 4, MaxDepth: 3, MaxAlloc: 150})
	tests := []struct {
		name string
		in   any
	}{
		{"long string", "hello"},
		{"long slice", []int{1, 2, 3, 4, 5}},
		{"deep", [][][][]int{{{{1}}}}},
		{"alloc", [][]int64{make([]int64, 4), make([]int64, 4), make([]int64, 4), make([]int64, 4)}},
	}
	big := newTestRegistry()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, err := big.AppendValue(nil, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.DecodeValue(buf); !errors.Is(err, ErrLimit) {
				t.Errorf("got %v, want ErrLimit", err)
			}
		})
	}
}

func TestHostile(t *testing.T) {
	r := newTestRegistry()
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"reserved tag", []byte{0x14}, ErrMalformed},
		{"bad tag", []byte{0xff}, ErrMalformed},
		{"huge string", []byte{tagString, 0xff, 0xff, 0xff, 0xff, 0x0f}, ErrLimit},
		{"string past end", []byte{tagString, 5, 'a'}, ErrTruncated},
		{"huge slice", []byte{tagSlice, tagInt, 0xff, 0xff, 0xff, 0x0f}, ErrLimit},
		{"slice past end", []byte{tagSlice, tagInt, 100, 1}, ErrTruncated},
		// 2^23 empty structs of a type that is large here.
		{"expanding slice", []byte{tagSlice, tagStruct, 'c', 'o', 'd', 'e', 'c', '.', 'N', 'o', 'd', 'e' | 0x80, 0, 0x80, 0x80, 0x80, 0x04}, ErrLimit},
		{"huge array", []byte{tagArray, 0xff, 0xff, 0xff, 0x07, tagInt64}, ErrLimit},
		{"nil elem", []byte{tagSlice, tagNil, 1}, ErrMalformed},
		{"dangling ref", []byte{tagRef, 'x' | 0x80}, ErrMalformed},
		{"varint overflow", []byte{tagInt, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, ErrMalformed},
		{"bad bool", []byte{tagBool, 2}, ErrMalformed},
		{"bad float", []byte{tagFloat64, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9}, ErrMalformed},
		{"uncomparable key", []byte{tagMap, tagSlice, tagInt, tagInt, 2, 1, 1}, ErrMalformed},
		{"uncomparable iface key", []byte{tagMap, tagIface, tagInt, 2, tagSlice, tagInt, 1, 1}, ErrMalformed},
		{"long name", append([]byte{tagStruct}, repeat('a', 300)...), ErrMalformed},
		{"decimal float overflow", []byte{tagFloat64, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, ErrMalformed},
		{"deep nesting", append(repeat(tagPtr, 200), tagInt), ErrLimit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := r.DecodeValue(tt.in); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func repeat(b byte, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}
