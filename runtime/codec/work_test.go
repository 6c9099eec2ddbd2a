package codec

import (
	"errors"
	"testing"
)

// TestZeroSizeWorkBounded: values of zero wire size (arrays of length 0,
// empty structs) take no input bytes, so a few bytes could declare MaxLen
// of them (16M values, a quarter second of CPU per 9-byte frame). The
// values one decode visits are bounded by WorkSlack plus a few per input
// byte, not by MaxLen.
func TestZeroSizeWorkBounded(t *testing.T) {
	zeroSlice := func(n uint64) []byte { // one argument: []([0]int64) of n elements
		return AppendUvarint([]byte{0x01, tagSlice, tagArray, 0x00, tagInt64}, n+1)
	}
	nested := func(outer int, n uint64) []byte { // one argument: [][]([0]int64)
		b := AppendUvarint([]byte{0x01, tagSlice, tagSlice, tagArray, 0x00, tagInt64}, uint64(outer)+1)
		for range outer {
			b = AppendUvarint(b, n+1)
		}
		return b
	}
	for _, tc := range []struct {
		name    string
		in      []byte
		refused bool
	}{
		{"a few zero-size values", zeroSlice(1000), false},
		{"WorkSlack zero-size values", zeroSlice(WorkSlack - 2), false},
		{"MaxLen zero-size values in 9 bytes", zeroSlice(DefaultMaxLen), true},
		{"just above WorkSlack", zeroSlice(WorkSlack + 100), true},
		{"many slices of many zero-size values", nested(200, 1<<20), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewRegistry().DecodeArgs(tc.in)
			if tc.refused != errors.Is(err, ErrLimit) {
				t.Fatalf("%d bytes: err %v, want refused %v", len(tc.in), err, tc.refused)
			}
		})
	}
}
