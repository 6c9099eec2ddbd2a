package codec

import (
	"testing"
	"time"
)

// TestEncodeAllocs checks the promise that encoding primitive and
// registered-struct arguments into a caller's buffer does not allocate.
func TestEncodeAllocs(t *testing.T) {
	r := newTestRegistry()
	args := []any{42, "hello", ServiceID(7), 1.5, true, int64(-3), []int32{1, 2, 3},
		Point{1, 2}, &Point{3, 4}, A{Name: "a", BirthDay: time.Now(), Money: 2}, time.Second}
	buf := make([]byte, 0, 1024)
	if _, err := r.AppendArgs(buf, args); err != nil { // compile plans
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := r.AppendArgs(buf[:0], args); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("AppendArgs allocated %.1f times per run, want 0", allocs)
	}
}
