package core_test

import (
	"context"
	"testing"

	"github.com/lotou-io/lotou/runtime/core"
)

// BenchmarkHandlerCall: a handler that Calls another local service per
// message (the path where a handler suspends), driven by Core.Call.
func BenchmarkHandlerCall(b *testing.B) {
	c, err := core.New(core.Options{Node: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Stop(context.Background()) }()
	leaf, err := c.Spawn(context.Background(), "", func(s *core.Service) error {
		s.Handle("echo", func(x int) int { return x })
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	mid, err := c.Spawn(context.Background(), "", func(s *core.Service) error {
		s.Handle("via", func(cx *core.Context, x int) (int, error) {
			ret, err := cx.Call(context.Background(), leaf.ID(), "echo", x)
			if err != nil {
				return 0, err
			}
			return ret[0].(int), nil
		})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := c.Call(ctx, mid.ID(), "via", i); err != nil {
			b.Fatal(err)
		}
	}
}
