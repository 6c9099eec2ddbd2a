package core_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

type point struct{ X, Y int }

var errBoom = errors.New("boom")

// handlers covers the fast paths and the reflect path.
func handlers(s *core.Service) error {
	s.Handle("add", func(a, b int) int { return a + b })
	s.Handle("neg", func(a int) int { return -a })
	s.Handle("upper", func(x string) (string, error) {
		if x == "" {
			return "", errBoom
		}
		return fmt.Sprintf("<%s>", x), nil
	})
	s.Handle("from", func(c *core.Context) core.ServiceID { return c.From() })
	s.Handle("cmd", func(c *core.Context, _ string) string { return c.Cmd() })
	s.Handle("noop", func() {})
	s.Handle("fail", func() error { return errBoom })
	s.Handle("swap", func(p point) point { return point{p.Y, p.X} })
	s.Handle("ptr", func(p *point) bool { return p == nil })
	s.Handle("i64", func(a int64, f float64, u uint8) (int64, float64, uint8) { return a, f, u })
	s.Handle("three", func(a, b, c string) string { return a + b + c })
	s.Handle("raw", func(_ *core.Context, args []any) ([]any, error) { return []any{len(args)}, nil })
	s.Handle("any", func(x any) any { return x })
	s.Handle("echo", func(_ *core.Context, args []any) ([]any, error) { return args[1:], nil })
	return nil
}

func TestCallHandlers(t *testing.T) {
	c := newCore(t)
	svc := spawn(t, c, ".h", handlers)
	tests := []struct {
		cmd     string
		args    []any
		want    []any
		wantErr error
	}{
		{"add", []any{2, 3}, []any{5}, nil},
		{"neg", []any{7}, []any{-7}, nil},
		{"upper", []any{"a"}, []any{"<a>"}, nil},
		{"upper", []any{""}, nil, errBoom},
		{"from", nil, []any{c.ID()}, nil},
		{"cmd", []any{"x"}, []any{"cmd"}, nil},
		{"noop", nil, nil, nil},
		{"fail", nil, nil, errBoom},
		{"swap", []any{point{1, 2}}, []any{point{2, 1}}, nil},
		{"ptr", []any{nil}, []any{true}, nil},
		{"i64", []any{int32(5), 2, uint16(9)}, []any{int64(5), float64(2), uint8(9)}, nil},
		{"three", []any{"a", "b", "c"}, []any{"abc"}, nil},
		{"raw", []any{1, 2, 3, 4}, []any{4}, nil},
		{"any", []any{"v"}, []any{"v"}, nil},
		{"echo", []any{"a", "b"}, []any{"b"}, nil},
		{"add", []any{1}, nil, core.ErrBadArgs},
		{"add", []any{"1", 2}, nil, core.ErrBadArgs},
		{"i64", []any{1, 1.5, 300}, nil, core.ErrBadArgs},
		{"nope", nil, nil, core.ErrUnknownCommand},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s%v", tt.cmd, tt.args), func(t *testing.T) {
			ret, err := c.Call(ctxT(t), svc.ID(), tt.cmd, tt.args...)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !reflect.DeepEqual(ret, tt.want) {
				t.Fatalf("ret = %#v, want %#v", ret, tt.want)
			}
		})
	}
}

func TestBadHandlers(t *testing.T) {
	c := newCore(t)
	tests := map[string]any{
		"nil":           nil,
		"not a func":    42,
		"variadic":      func(...int) {},
		"ctx not first": func(int, *core.Context) {},
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.Spawn(ctxT(t), "", func(s *core.Service) error {
				s.Handle("x", fn)
				return nil
			})
			if !errors.Is(err, core.ErrBadHandler) {
				t.Fatalf("err = %v, want ErrBadHandler", err)
			}
		})
	}
	if n := c.Services(); n != 0 {
		t.Fatalf("%d services left after failed starts", n)
	}
}

func TestSend(t *testing.T) {
	c := newCore(t)
	got := make(chan int, 3)
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("n", func(n int) { got <- n })
		return nil
	})
	for i := range 3 {
		if err := c.Send(svc.ID(), "n", i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		if n := <-got; n != i {
			t.Fatalf("got %d, want %d (order)", n, i)
		}
	}
	if err := c.Send(core.MakeID(1, 999), "n", 1); !errors.Is(err, core.ErrServiceNotFound) {
		t.Fatalf("send to unknown id: %v", err)
	}
}

func TestCallTimeout(t *testing.T) {
	c := newCore(t)
	release := make(chan struct{})
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("slow", func() { <-release })
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := c.Call(ctx, svc.ID(), "slow")
	close(release)
	if !errors.Is(err, core.ErrCallTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrCallTimeout and DeadlineExceeded", err)
	}
}

// TestDefaultCallTimeout checks that Options.CallTimeout bounds calls whose
// ctx has no deadline, from outside a service and from inside a handler, and
// that a ctx deadline of its own still wins.
func TestDefaultCallTimeout(t *testing.T) {
	c := newCore(t, func(o *core.Options) { o.CallTimeout = 30 * time.Millisecond })
	release := make(chan struct{})
	defer close(release)
	slow := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("slow", func() { <-release })
		return nil
	})
	fast := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("fast", func(n int) int { return n + 1 })
		return nil
	})
	caller := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("relay", func(cx *core.Context) error {
			_, err := cx.Call(context.Background(), slow.ID(), "slow")
			return err
		})
		return nil
	})
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"core call without deadline", func() error {
			_, err := c.Call(context.Background(), slow.ID(), "slow")
			return err
		}, core.ErrCallTimeout},
		{"nested call without deadline", func() error {
			// The outer call has a long deadline of its own: the timeout
			// can only come from the nested call's default bound.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := c.Call(ctx, caller.ID(), "relay")
			if ctx.Err() != nil {
				return fmt.Errorf("outer deadline expired first: %v", err)
			}
			return err
		}, core.ErrCallTimeout},
		{"fast call is not affected", func() error {
			ret, err := c.Call(context.Background(), fast.ID(), "fast", 1)
			if err == nil && ret[0] != 2 {
				return fmt.Errorf("fast returned %v", ret)
			}
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.want == nil && err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

// requester runs Request from inside a service and reports every callback.
type requester struct {
	calls   int
	results chan error
}

func (r *requester) Init(s *core.Service) error {
	s.Handle("req", func(to core.ServiceID, cmd string, timeout time.Duration) {
		s.Request(to, timeout, func(ret []any, err error) {
			r.calls++
			if err == nil && len(ret) == 1 {
				err = fmt.Errorf("value %v", ret[0])
			}
			r.results <- err
		}, cmd, 20, 22)
	})
	s.Handle("calls", func() int { return r.calls })
	return nil
}

func TestRequest(t *testing.T) {
	c := newCore(t)
	release := make(chan struct{})
	target := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("add", func(a, b int) int { return a + b })
		s.Handle("slow", func(a, b int) int { <-release; return a + b })
		s.Handle("noop", func() {})
		return nil
	})
	r := &requester{results: make(chan error, 4)}
	rs, err := c.Start(ctxT(t), "", r)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("reply", func(t *testing.T) {
		if err := c.Send(rs.ID(), "req", target.ID(), "add", time.Second); err != nil {
			t.Fatal(err)
		}
		if err := <-r.results; err == nil || err.Error() != "value 42" {
			t.Fatalf("callback got %v, want value 42", err)
		}
	})
	t.Run("timeout exactly once", func(t *testing.T) {
		if err := c.Send(rs.ID(), "req", target.ID(), "slow", 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if err := <-r.results; !errors.Is(err, core.ErrCallTimeout) {
			t.Fatalf("callback got %v, want ErrCallTimeout", err)
		}
		close(release)
		// The late reply is queued at the requester before noop returns,
		// and handled before "calls" (mailboxes are FIFO).
		if _, err := c.Call(ctxT(t), target.ID(), "noop"); err != nil {
			t.Fatal(err)
		}
		ret, err := c.Call(ctxT(t), rs.ID(), "calls")
		if err != nil || ret[0] != 2 {
			t.Fatalf("callbacks run = %v (%v), want 2", ret, err)
		}
	})
	t.Run("unknown target", func(t *testing.T) {
		if err := c.Send(rs.ID(), "req", core.MakeID(1, 9999), "add", time.Second); err != nil {
			t.Fatal(err)
		}
		if err := <-r.results; !errors.Is(err, core.ErrServiceNotFound) {
			t.Fatalf("callback got %v, want ErrServiceNotFound", err)
		}
	})
}
