package codec

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestDecodeArgsTo(t *testing.T) {
	r := newTestRegistry()
	when := time.Date(2026, 11, 27, 1, 2, 3, 4, time.UTC)
	type dests struct {
		i   int
		s   string
		f   float64
		b   bool
		i64 int64
		u16 uint16
		tm  time.Time
		d   time.Duration
		p   Point
		pp  *Point
		xs  []int32
		id  ServiceID
		x   any
	}
	tests := []struct {
		name    string
		args    []any
		ptrs    func(d *dests) []any
		want    dests
		wantErr error
	}{
		{"primitives", []any{42, "move", 1.5, true, int64(-300), time.Second, when},
			func(d *dests) []any { return []any{&d.i, &d.s, &d.f, &d.b, &d.i64, &d.d, &d.tm} },
			dests{i: 42, s: "move", f: 1.5, b: true, i64: -300, d: time.Second, tm: when}, nil},
		{"converted integers", []any{int32(7), uint64(9)},
			func(d *dests) []any { return []any{&d.i64, &d.u16} }, dests{i64: 7, u16: 9}, nil},
		{"composites", []any{Point{1, 2}, &Point{3, 4}, []int32{5, 6}, ServiceID(8), "any"},
			func(d *dests) []any { return []any{&d.p, &d.pp, &d.xs, &d.id, &d.x} },
			dests{p: Point{1, 2}, pp: &Point{3, 4}, xs: []int32{5, 6}, id: 8, x: "any"}, nil},
		{"nil into a pointer", []any{nil}, func(d *dests) []any { return []any{&d.pp} }, dests{}, nil},
		{"too few arguments", []any{1}, func(d *dests) []any { return []any{&d.i, &d.s} }, dests{}, ErrTypeMismatch},
		{"too many arguments", []any{1, 2}, func(d *dests) []any { return []any{&d.i} }, dests{}, ErrTypeMismatch},
		{"kind mismatch", []any{"x"}, func(d *dests) []any { return []any{&d.i} }, dests{}, ErrTypeMismatch},
		{"overflow", []any{70000}, func(d *dests) []any { return []any{&d.u16} }, dests{}, ErrTypeMismatch},
		{"not a pointer", []any{1}, func(d *dests) []any { return []any{d.i} }, dests{}, ErrTypeMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := r.AppendArgs(nil, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			var got dests
			got.pp = &Point{9, 9} // a nil argument clears it
			err = r.DecodeArgsTo(data, tt.ptrs(&got)...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.name != "composites" {
				got.pp = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			// DecodeArgsValues agrees.
			var again dests
			ptrs := tt.ptrs(&again)
			vals := make([]reflect.Value, len(ptrs))
			for i, p := range ptrs {
				vals[i] = reflect.ValueOf(p).Elem()
			}
			if err := r.DecodeArgsValues(data, vals); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, tt.want) {
				t.Errorf("DecodeArgsValues got %+v\nwant %+v", again, tt.want)
			}
		})
	}
	data, _ := r.AppendArgs(nil, []any{1})
	if err := r.DecodeArgsTo(append(data, 0), new(int)); !errors.Is(err, ErrTrailing) {
		t.Errorf("trailing byte: got %v, want ErrTrailing", err)
	}
	if err := r.DecodeArgsValues(data, []reflect.Value{reflect.ValueOf(1)}); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("unsettable value: got %v, want ErrTypeMismatch", err)
	}
}

// TestDecodeArgsToAllocs checks the promise of no allocation for
// primitive parameters, with both typed APIs.
func TestDecodeArgsToAllocs(t *testing.T) {
	r := newTestRegistry()
	data, err := r.AppendArgs(nil, []any{123456, int64(-7), 2.5, true, time.Unix(1e9, 5).UTC(), float32(1.25), int32(-9)})
	if err != nil {
		t.Fatal(err)
	}
	var (
		i   int
		i64 int64
		f   float64
		b   bool
		tm  time.Time
		f32 float32
		i32 int32
	)
	ptrs := []any{&i, &i64, &f, &b, &tm, &f32, &i32}
	vals := make([]reflect.Value, len(ptrs))
	for k, p := range ptrs {
		vals[k] = reflect.ValueOf(p).Elem()
	}
	for _, tt := range []struct {
		name string
		f    func() error
	}{
		{"DecodeArgsTo", func() error { return r.DecodeArgsTo(data, &i, &i64, &f, &b, &tm, &f32, &i32) }},
		{"DecodeArgsValues", func() error { return r.DecodeArgsValues(data, vals) }},
	} {
		allocs := testing.AllocsPerRun(100, func() {
			if err := tt.f(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 || i != 123456 || i32 != -9 || !b {
			t.Errorf("%s: %.1f allocations per run (want 0), decoded %d %d %v", tt.name, allocs, i, i32, b)
		}
	}
}

// TestDecodeArgsAllocs pins issue 15's bound: the typical argument list
// (int, string, []int32, registered struct) decodes into []any in at most
// 3 allocations, 2 into a reused slice.
func TestDecodeArgsAllocs(t *testing.T) {
	r := newTestRegistry()
	data, err := r.AppendArgs(nil, []any{42, "move", []int32{1, 2, 3, 4, 5, 6, 7, 8}, Point{X: 1, Y: -2}})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]any, 0, 4)
	for _, tt := range []struct {
		name string
		max  float64
		f    func() ([]any, error)
	}{
		{"DecodeArgs", 3, func() ([]any, error) { return r.DecodeArgs(data) }},
		{"DecodeArgsInto reused", 2, func() ([]any, error) { return r.DecodeArgsInto(dst, data) }},
	} {
		var args []any
		allocs := testing.AllocsPerRun(100, func() {
			if args, err = tt.f(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > tt.max {
			t.Errorf("%s: %.1f allocations per run, want at most %v", tt.name, allocs, tt.max)
		}
		if args[1] != "move" || args[2].([]int32)[7] != 8 || args[3] != (Point{X: 1, Y: -2}) {
			t.Errorf("%s decoded %#v", tt.name, args)
		}
	}
}
