package codec

import (
	"bytes"
	"math"
	"reflect"
	"testing"
	"time"
)

// FuzzDecode decodes arbitrary bytes: it must never panic, and whatever
// decodes must re-encode and decode to the same value.
func FuzzDecode(f *testing.F) {
	r := newTestRegistry()
	for _, g := range goldenValues() {
		buf, err := r.AppendArgs(nil, []any{g.v, g.v})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(buf)
	}
	f.Add([]byte{0x01, tagSlice, tagStruct, 'c', 'o', 'd', 'e', 'c', '.', 'N', 'o', 'd', 'e' | 0x80, 0, 0x80, 0x80, 0x04})
	r.SetLimits(Limits{MaxLen: 1 << 16, MaxDepth: 32, MaxAlloc: 1 << 22})
	f.Fuzz(func(t *testing.T, data []byte) {
		args, err := r.DecodeArgs(data)
		into, ierr := r.DecodeArgsInto(make([]any, 1, 2), data)
		if (err == nil) != (ierr == nil) {
			t.Fatalf("DecodeArgs error %v, DecodeArgsInto error %v", err, ierr)
		}
		if err != nil {
			return
		}
		again, err := r.AppendArgs(nil, args)
		if err == nil {
			var same []byte
			// Map order varies between encodings and NaN != NaN: equal
			// values, equal bytes or at least equal sizes.
			same, err = r.AppendArgs(nil, into)
			equal := reflect.DeepEqual(into, args) || bytes.Equal(same, again) || len(same) == len(again)
			if err != nil || !equal {
				t.Fatalf("DecodeArgsInto gave %#v, DecodeArgs %#v (%v)", into, args, err)
			}
		}
		if err != nil {
			// Everything that decodes has a registered or built-in type,
			// so it must encode again.
			t.Fatalf("re-encoding %#v: %v", args, err)
		}
		if _, err := r.DecodeArgs(again); err != nil {
			t.Fatalf("decoding re-encoded % x: %v", again, err)
		}
	})
}

// FuzzRoundTrip checks decode(encode(x)) == x for generated argument lists.
func FuzzRoundTrip(f *testing.F) {
	f.Add(int64(42), "hello", []byte{1, 2}, 1.5, true, uint64(7), int64(0))
	f.Add(int64(math.MinInt64), "", []byte(nil), math.Inf(1), false, uint64(math.MaxUint64), int64(-1))
	r := newTestRegistry()
	f.Fuzz(func(t *testing.T, i int64, s string, b []byte, x float64, ok bool, u uint64, sec int64) {
		when := time.Unix(sec%(1<<40), int64(u%1e9)).UTC()
		in := []any{int(i), s, b, x, ok, ServiceID(u), Point{X: int32(i), Y: int32(u)},
			A{Name: s, BirthDay: when, Phone: s, Siblings: int(i), Spouse: ok, Money: x},
			[]int32{int32(i), int32(u)}, map[string]any{s: i}, &Player{Name: s, Friends: []ServiceID{ServiceID(u)}}}
		buf, err := r.AppendArgs(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.DecodeArgs(buf)
		if err != nil {
			t.Fatalf("decoding % x: %v", buf, err)
		}
		for k := range in {
			if math.IsNaN(x) {
				break // NaN != NaN; decoding without error is the check
			}
			if !equal(out[k], in[k]) && (k != 7 || !out[k].(A).BirthDay.Equal(when)) {
				t.Errorf("arg %d: got %#v, want %#v", k, out[k], in[k])
			}
		}
	})
}
