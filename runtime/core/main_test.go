package core_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lotou-io/lotou/runtime/core"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newCore returns a core of node 1 stopped at the end of the test.
func newCore(t *testing.T, opts ...func(*core.Options)) *core.Core {
	t.Helper()
	o := core.Options{Node: 1}
	for _, f := range opts {
		f(&o)
	}
	c, err := core.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Stop(ctx); err != nil {
			t.Errorf("stopping core: %v", err)
		}
	})
	return c
}

// spawn starts a service or fails the test.
func spawn(t *testing.T, c *core.Core, name string, setup func(s *core.Service) error, opts ...core.ServiceOption) *core.Service {
	t.Helper()
	s, err := c.Spawn(context.Background(), name, setup, opts...)
	if err != nil {
		t.Fatalf("spawning %q: %v", name, err)
	}
	return s
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// ctxT returns a context bounded for a test step.
func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
