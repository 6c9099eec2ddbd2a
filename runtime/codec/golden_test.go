package codec

import (
	"bytes"
	"encoding/hex"
	"testing"
	"time"
)

type goldenValue struct {
	name string
	v    any
	hex  string // the pinned encoding of v as a single value
}

// goldenValues pins the wire format. A change here is a wire format change:
// bump the version in doc.go instead of editing these bytes.
func goldenValues() []goldenValue {
	when := time.Date(2026, 11, 25, 0, 0, 0, 5, time.UTC)
	return []goldenValue{
		{"nil", nil, "00"},
		{"true", true, "0101"},
		{"int 42", 42, "0254"},
		{"int -1", -1, "0201"},
		{"int 300", 300, "02d804"},
		{"int8 -1", int8(-1), "03ff"},
		{"uint8", uint8(200), "08c8"},
		{"uint64", uint64(300), "0bac02"},
		{"float64 0", 0.0, "0d00"},
		{"float64 1", 1.0, "0d023ff0"},
		{"float64 100", 100.0, "0d024059"},
		{"float64 12.34", 12.34, "0d 12 a413"},
		{"float64 0.1", 0.1, "0d 1102"},
		{"float64 pi", 3.141592653589793, "0d08 400921fb54442d18"},
		{"float64 1234.56", 1234.56, "0d 12 80890f"},
		{"float32 0.5", float32(0.5), "0c013f"},
		{"string", "hi", "10026869"},
		{"bytes", []byte{7}, "110207"},
		{"nil bytes", []byte(nil), "1100"},
		{"time", when, "12 8094b1b00d 0a"},
		{"duration", time.Second, "13 80a8d6b907"},
		{"[]int32", []int32{1, -1}, "2005 03 02 01"},
		{"nil []int", []int(nil), "2002 00"},
		{"[2]uint8", [2]uint8{1, 2}, "2102 08 0102"},
		{"map", map[string]bool{"a": true}, "221001 02 0161 01"},
		{"*int", &[]int{5}[0], "2302 01 0a"},
		{"nil *int", (*int)(nil), "2302 00"},
		{"[]any", []any{1, nil}, "20 24 03 0202 00"},
		{"ServiceID", ServiceID(1), "25 636f6465632e5365727669636549c4 0b 01"},
		{"Point", Point{X: 1, Y: -1}, "26 636f6465632e506f696ef4 02 d8 05 d9 05 02 01"},
		{"*Node", &Node{Value: 1}, "23 26 636f6465632e4e6f64e5 02 56616c75e5 02 4e6578f4 23 27 636f6465632e4e6f64e5 01 02 00"},
	}
}

func TestGolden(t *testing.T) {
	r := newTestRegistry()
	for _, g := range goldenValues() {
		t.Run(g.name, func(t *testing.T) {
			want, err := hex.DecodeString(stripSpaces(g.hex))
			if err != nil {
				t.Fatalf("bad golden hex %q: %v", g.hex, err)
			}
			got, err := r.AppendValue(nil, g.v)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding changed:\n got %x\nwant %x", got, want)
			}
		})
	}
}

func stripSpaces(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}
