package codec

import (
	"errors"
	"reflect"
	"testing"
)

func TestReadArgsInto(t *testing.T) {
	r := newTestRegistry()
	tests := []struct {
		name    string
		args    []any
		dstCap  int
		reuse   bool // the result shares dst's storage
		wantErr error
		trail   bool
	}{
		{"empty", nil, 4, true, nil, false},
		{"fits", []any{42, "hit"}, 4, true, nil, false},
		{"exact", []any{1, 2, 3, 4}, 4, true, nil, false},
		{"grows", []any{1, 2, 3, 4, 5}, 4, false, nil, false},
		{"nil dst", []any{Point{1, 2}}, 0, false, nil, false},
		{"trailing byte", []any{7}, 4, true, ErrTrailing, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, err := r.AppendArgs(nil, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if tt.trail {
				buf = append(buf, 0)
			}
			var dst []any
			if tt.dstCap > 0 {
				dst = make([]any, 1, tt.dstCap)
				dst[0] = "stale"
			}
			got, err := r.DecodeArgsInto(dst, buf)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || len(got) != 0 {
					t.Fatalf("got %v, %v; want no arguments and %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.args) || (len(tt.args) > 0 && !reflect.DeepEqual(got, tt.args)) {
				t.Fatalf("got %#v, want %#v", got, tt.args)
			}
			if len(got) == 0 {
				return
			}
			if shared := cap(dst) > 0 && &got[0] == &dst[:1][0]; shared != tt.reuse {
				t.Errorf("result shares dst: %v, want %v", shared, tt.reuse)
			}
		})
	}
}

// TestReadArgsIntoAllocs checks that decoding small values into a reused
// slice does not allocate.
func TestReadArgsIntoAllocs(t *testing.T) {
	r := newTestRegistry()
	buf, err := r.AppendArgs(nil, []any{42, true, int64(200)})
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]any, 0, 4)
	allocs := testing.AllocsPerRun(100, func() {
		args, _, err := r.ReadArgsInto(dst, buf)
		if err != nil || len(args) != 3 {
			t.Fatalf("got %v, %v", args, err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadArgsInto allocated %.1f times per run, want 0", allocs)
	}
}
