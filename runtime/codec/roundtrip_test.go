package codec

import (
	"errors"
	"math"
	"reflect"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	r := newTestRegistry()
	when := time.Date(2026, 11, 25, 19, 40, 0, 123456789, time.UTC)
	zoned := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600))
	var nilPoint *Point
	var nilSlice []int
	var nilMap map[string]int
	ten := 10
	pten := &ten
	tests := []struct {
		name string
		in   any
	}{
		{"nil", nil},
		{"bool", true},
		{"int", 42},
		{"int negative", -1 << 40},
		{"int8", int8(-128)},
		{"int16", int16(math.MinInt16)},
		{"int32", int32(math.MaxInt32)},
		{"int64", int64(math.MinInt64)},
		{"uint", uint(7)},
		{"uint8", uint8(255)},
		{"uint16", uint16(65535)},
		{"uint32", uint32(math.MaxUint32)},
		{"uint64", uint64(math.MaxUint64)},
		{"float32", float32(1.5)},
		{"float32 odd", float32(math.Pi)},
		{"float64", 1234.56},
		{"float64 zero", 0.0},
		{"float64 negative zero", math.Copysign(0, -1)},
		{"float64 inf", math.Inf(-1)},
		{"float64 max", math.MaxFloat64},
		{"float64 smallest", math.SmallestNonzeroFloat64},
		{"complex64", complex64(complex(1, -2))},
		{"complex128", complex(math.Pi, math.E)},
		{"string", "héllo"},
		{"empty string", ""},
		{"bytes", []byte{1, 2, 3}},
		{"empty bytes", []byte{}},
		{"nil bytes", []byte(nil)},
		{"time utc", when},
		{"time zero", time.Time{}.UTC()},
		{"time zoned", zoned},
		{"duration", 1500 * time.Millisecond},
		{"slice", []int32{1, -2, 3}},
		{"nil slice", nilSlice},
		{"empty slice", []string{}},
		{"array", [3]uint16{1, 2, 3}},
		{"map", map[string]int{"a": 1}},
		{"nil map", nilMap},
		{"map of slices", map[int][]string{1: {"x"}, 2: nil}},
		{"pointer", pten},
		{"pointer to pointer", &pten},
		{"nil pointer", nilPoint},
		{"named", ServiceID(99)},
		{"named slice", Tags{"a", "b"}},
		{"slice of named", []ServiceID{1, 2}},
		{"struct", Point{X: 1, Y: -1}},
		{"struct pointer", &Point{X: 3}},
		{"slice of structs", []Point{{1, 2}, {3, 4}}},
		{"map of structs", map[string]Point{"p": {5, 6}}},
		{"slice of struct pointers", []*Point{{1, 2}, nil}},
		{"any slice", []any{1, "x", nil, Point{}, []byte(nil), ServiceID(3)}},
		{"map any", map[string]any{"k": []any{1.5, true}}},
		{"nested struct", Player{
			Name: "bob", Level: 3, Pos: &Point{1, 2}, Items: []Point{{3, 4}},
			Scores: map[string]float64{"x": 0.5}, Friends: []ServiceID{7}, Joined: when,
			Extra: map[string]any{"n": int64(1)},
		}},
		{"recursive", &Node{Value: 1, Next: &Node{Value: 2}}},
		{"A", A{Name: "Alice", BirthDay: when, Phone: "555", Siblings: 2, Spouse: true, Money: 99.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, err := r.AppendValue(nil, tt.in)
			if err != nil {
				t.Fatalf("AppendValue(%#v): %v", tt.in, err)
			}
			got, n, err := r.DecodeValue(buf)
			if err != nil {
				t.Fatalf("DecodeValue(% x): %v", buf, err)
			}
			if n != len(buf) {
				t.Errorf("DecodeValue read %d of %d bytes", n, len(buf))
			}
			if !equal(got, tt.in) {
				t.Errorf("round trip of %T: got %#v, want %#v", tt.in, got, tt.in)
			}
		})
	}
}

// equal is reflect.DeepEqual, except that times compare with Equal and
// location offset, and NaN-free floats compare bitwise.
func equal(a, b any) bool {
	ta, ok1 := a.(time.Time)
	tb, ok2 := b.(time.Time)
	if ok1 && ok2 {
		_, oa := ta.Zone()
		_, ob := tb.Zone()
		return ta.Equal(tb) && oa == ob
	}
	if fa, ok := a.(float64); ok {
		fb, ok := b.(float64)
		return ok && math.Float64bits(fa) == math.Float64bits(fb)
	}
	return reflect.DeepEqual(a, b)
}

func TestArgs(t *testing.T) {
	r := newTestRegistry()
	args := []any{ServiceID(5), 42, "hello", []int32{1, 2}, &Point{1, 2}, nil}
	buf, err := r.AppendArgs(nil, args)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.DecodeArgs(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, args) {
		t.Errorf("got %#v, want %#v", got, args)
	}
	if _, ok := got[0].(ServiceID); !ok {
		t.Errorf("named type lost identity: %T", got[0])
	}
	empty, err := r.AppendArgs(nil, nil)
	if err != nil || len(empty) != 1 {
		t.Fatalf("empty args: % x, %v", empty, err)
	}
	if got, err := r.DecodeArgs(empty); err != nil || got != nil {
		t.Errorf("empty args decoded as %#v, %v", got, err)
	}
	if _, err := r.DecodeArgs(append(buf, 0)); !errors.Is(err, ErrTrailing) {
		t.Errorf("trailing byte: %v, want ErrTrailing", err)
	}
}

// TestCallFrameSize pins the size of a Call(svc, 42) argument list.
func TestCallFrameSize(t *testing.T) {
	r := newTestRegistry()
	buf, err := r.AppendArgs(nil, []any{42})
	if err != nil {
		t.Fatal(err)
	}
	if len(buf) != 3 {
		t.Errorf("args [42] take %d bytes (% x), want 3", len(buf), buf)
	}
}

func TestDecodeInto(t *testing.T) {
	r := newTestRegistry()
	buf, err := r.AppendValue(nil, Player{Name: "x", Level: 9, Friends: []ServiceID{1}})
	if err != nil {
		t.Fatal(err)
	}
	var p *Player
	if _, err := r.DecodeValueInto(buf, &p); err != nil {
		t.Fatal(err)
	}
	if p == nil || p.Name != "x" || p.Level != 9 || len(p.Friends) != 1 {
		t.Errorf("decoded %#v", p)
	}
	// Integers convert between sizes when the value fits.
	buf, _ = r.AppendValue(nil, 300)
	var i16 int16
	if _, err := r.DecodeValueInto(buf, &i16); err != nil || i16 != 300 {
		t.Errorf("int into int16: %d, %v", i16, err)
	}
	var i8 int8
	if _, err := r.DecodeValueInto(buf, &i8); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("300 into int8: %v, want ErrTypeMismatch", err)
	}
	var s string
	if _, err := r.DecodeValueInto(buf, &s); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("int into string: %v, want ErrTypeMismatch", err)
	}
}
