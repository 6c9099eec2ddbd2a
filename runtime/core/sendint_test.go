package core_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/lotou-io/lotou/runtime/core"
)

// TestSendInt checks that an unboxed int reaches every handler shape: the
// int ones directly, the others boxed (or converted) on the service
// goroutine, and a mismatch is reported as for a boxed Send.
func TestSendInt(t *testing.T) {
	tests := []struct {
		name    string
		handler func(got chan<- any) any
		n       int
		want    any
	}{
		{"func(int)", func(got chan<- any) any { return func(x int) { got <- x } }, 1 << 40, 1 << 40},
		{"func(*Context, int) error", func(got chan<- any) any {
			return func(_ *core.Context, x int) error { got <- x; return nil }
		}, -7, -7},
		{"func(any) boxes", func(got chan<- any) any { return func(x any) { got <- x } }, 300, 300},
		{"func(int64) converts", func(got chan<- any) any { return func(x int64) { got <- x } }, 300, int64(300)},
		{"func(string) refuses", func(got chan<- any) any { return func(x string) { got <- x } }, 1, nil},
		{"func(*Context, []any) raw", func(got chan<- any) any {
			return func(_ *core.Context, a []any) ([]any, error) { got <- a[0]; return nil, nil }
		}, 42, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCore(t)
			got := make(chan any, 1)
			svc := spawn(t, c, "", func(s *core.Service) error {
				s.Handle("n", tt.handler(got))
				s.Handle("sync", func() {})
				return nil
			})
			if err := c.SendInt(svc.ID(), "n", tt.n); err != nil {
				t.Fatal(err)
			}
			if _, err := c.Call(ctxT(t), svc.ID(), "sync"); err != nil { // everything before it is handled
				t.Fatal(err)
			}
			var v any
			select {
			case v = <-got:
			default:
			}
			if v != tt.want {
				t.Fatalf("handler got %v (%T), want %v (%T)", v, v, tt.want, tt.want)
			}
		})
	}
}

// TestSendIntAllocations pins what SendInt is for: no allocation per
// message for an int handler, where Send boxes an int that does not fit the
// runtime's small-value cache.
func TestSendIntAllocations(t *testing.T) {
	c := newCore(t)
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("n", func(int) {})
		return nil
	})
	ctx := context.Background()
	send := func(unboxed bool) float64 {
		i := 1000
		return testing.AllocsPerRun(2000, func() {
			i++
			var err error
			if unboxed {
				err = c.SendWaitInt(ctx, svc.ID(), "n", i)
			} else {
				err = c.SendWait(ctx, svc.ID(), "n", i)
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	if boxed := send(false); boxed < 0.9 {
		t.Fatalf("SendWait allocated %.2f times per message; the comparison needs the boxing", boxed)
	}
	if unboxed := send(true); unboxed > 0.1 {
		t.Fatalf("SendWaitInt allocated %.2f times per message, want 0", unboxed)
	}
}

// A stream of ints to an int handler: SendWaitInt boxes nothing.
func ExampleCore_SendWaitInt() {
	c, _ := core.New(core.Options{Node: 1})
	ctx := context.Background()
	sum := 0
	svc, _ := c.Spawn(ctx, "", func(s *core.Service) error {
		s.Handle("add", func(n int) { sum += n })
		s.Handle("sum", func() int { return sum })
		return nil
	})
	for i := range 1000 {
		_ = c.SendWaitInt(ctx, svc.ID(), "add", i)
	}
	ret, _ := c.Call(ctx, svc.ID(), "sum")
	fmt.Println(ret[0])
	_ = c.Stop(ctx)
	// Output: 499500
}
