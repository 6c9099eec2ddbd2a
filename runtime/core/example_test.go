package core_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

// Two services play ping-pong by name until the count reaches 3.
func Example_pingPong() {
	c, _ := core.New(core.Options{Node: 1})
	ctx := context.Background()
	done := make(chan struct{})

	_, _ = c.Spawn(ctx, ".pong", func(s *core.Service) error {
		s.Handle("ping", func(c *core.Context, n int) error {
			fmt.Println("pong", n)
			return c.Send(c.From(), "pong", n+1)
		})
		return nil
	})
	ping, _ := c.Spawn(ctx, ".ping", func(s *core.Service) error {
		s.Handle("pong", func(c *core.Context, n int) error {
			if n == 3 {
				close(done)
				return nil
			}
			fmt.Println("ping", n)
			return c.Send(c.From(), "ping", n)
		})
		s.Handle("start", func(c *core.Context) error {
			pong, err := c.Lookup(ctx, ".pong")
			if err != nil {
				return err
			}
			return c.Send(pong, "ping", 0)
		})
		return nil
	})
	_ = c.Send(ping.ID(), "start")
	<-done
	_ = c.Stop(ctx)
	// Output:
	// pong 0
	// ping 1
	// pong 1
	// ping 2
	// pong 2
}

// A service sends a request with a deadline; the callback runs once, on the
// service's goroutine, with the reply or the timeout.
func Example_requestWithTimeout() {
	c, _ := core.New(core.Options{Node: 1})
	ctx := context.Background()
	release := make(chan struct{})
	done := make(chan struct{})

	slow, _ := c.Spawn(ctx, ".slow", func(s *core.Service) error {
		s.Handle("fast", func(x int) int { return x * 2 })
		s.Handle("slow", func(x int) int { <-release; return x })
		return nil
	})
	client, _ := c.Spawn(ctx, ".client", func(s *core.Service) error {
		s.Handle("go", func() {
			s.Request(slow.ID(), time.Second, func(ret []any, err error) {
				fmt.Println("fast:", ret, err)
				s.Request(slow.ID(), 20*time.Millisecond, func(_ []any, err error) {
					fmt.Println("slow timed out:", errors.Is(err, core.ErrCallTimeout))
					close(release)
					close(done)
				}, "slow", 1)
			}, "fast", 21)
		})
		return nil
	})
	_ = c.Send(client.ID(), "go")
	<-done
	_ = c.Stop(ctx)
	// Output:
	// fast: [42] <nil>
	// slow timed out: true
}

// Handlers are plain typed functions; the return values are the reply.
func ExampleService_Handle() {
	c, _ := core.New(core.Options{Node: 1})
	ctx := context.Background()
	adder, _ := c.Spawn(ctx, ".adder", func(s *core.Service) error {
		s.Handle("add", func(a, b int) int { return a + b })
		return nil
	})
	ret, err := c.Call(ctx, adder.ID(), "add", 1, 2)
	fmt.Println(ret[0], err)
	_ = c.Stop(ctx)
	// Output: 3 <nil>
}
