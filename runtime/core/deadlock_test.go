package core_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

// TestCallCycle: A calls B, whose handler calls back into A. With nested
// dispatch A serves the inner call while it waits, so the chain completes.
func TestCallCycle(t *testing.T) {
	c := newCore(t)
	var a, b *core.Service
	a = spawn(t, c, ".a", func(s *core.Service) error {
		s.Handle("start", func(c *core.Context, n int) (int, error) {
			ret, err := c.Call(context.Background(), b.ID(), "bounce", n)
			if err != nil {
				return 0, err
			}
			return ret[0].(int) + 1, nil
		})
		s.Handle("leaf", func(n int) int { return n * 10 })
		return nil
	})
	b = spawn(t, c, ".b", func(s *core.Service) error {
		s.Handle("bounce", func(c *core.Context, n int) (int, error) {
			ret, err := c.Call(context.Background(), a.ID(), "leaf", n)
			if err != nil {
				return 0, err
			}
			return ret[0].(int) + 1, nil
		})
		return nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ret, err := c.Call(ctx, a.ID(), "start", 4)
	if err != nil {
		t.Fatalf("A→B→A: %v", err)
	}
	if ret[0] != 42 {
		t.Fatalf("A→B→A = %v, want 42", ret[0])
	}
}

// TestMutualCalls: A and B call each other at the same moment; neither
// wedges.
func TestMutualCalls(t *testing.T) {
	c := newCore(t)
	ids := make([]core.ServiceID, 2)
	done := make(chan error, 2)
	for i := range 2 {
		s := spawn(t, c, "", func(s *core.Service) error {
			s.Handle("go", func(c *core.Context) {
				ret, err := c.Call(context.Background(), ids[1-i], "val")
				if err == nil && ret[0] != 1-i {
					err = errors.New("wrong value")
				}
				done <- err
			})
			s.Handle("val", func() int { return i })
			return nil
		})
		ids[i] = s.ID()
	}
	for _, id := range ids {
		if err := c.Send(id, "go"); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("mutual calls deadlocked")
		}
	}
}

// TestCallDepth: runaway mutual recursion fails with ErrCallDepth instead of
// exhausting the stack.
func TestCallDepth(t *testing.T) {
	c := newCore(t)
	var a *core.Service
	a = spawn(t, c, "", func(s *core.Service) error {
		s.Handle("rec", func(c *core.Context, n int) (int, error) {
			ret, err := c.Call(context.Background(), a.ID(), "rec", n+1)
			if err != nil {
				return 0, err
			}
			return ret[0].(int), nil
		})
		return nil
	})
	_, err := c.Call(ctxT(t), a.ID(), "rec", 0)
	if !errors.Is(err, core.ErrCallDepth) {
		t.Fatalf("err = %v, want ErrCallDepth", err)
	}
}

// TestServiceCallTimeout: a Call from a handler honours its ctx and the
// service keeps serving while it waits.
func TestServiceCallTimeout(t *testing.T) {
	c := newCore(t)
	release := make(chan struct{})
	slow := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("slow", func() { <-release })
		return nil
	})
	caller := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("call", func(c *core.Context) error {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, err := c.Call(ctx, slow.ID(), "slow")
			return err
		})
		s.Handle("ping", func() string { return "pong" })
		return nil
	})
	errc := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), caller.ID(), "call")
		errc <- err
	}()
	// While "call" waits, the caller still answers ping.
	ret, err := c.Call(ctxT(t), caller.ID(), "ping")
	if err != nil || ret[0] != "pong" {
		t.Fatalf("ping during call: %v %v", ret, err)
	}
	if err := <-errc; !errors.Is(err, core.ErrCallTimeout) {
		t.Fatalf("err = %v, want ErrCallTimeout", err)
	}
	close(release)
}
