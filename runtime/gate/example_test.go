package gate_test

import (
	"context"
	"fmt"

	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/gate"
	"github.com/lotou-io/lotou/runtime/gate/client"
)

// A game service behind a gate, and a client calling it over TCP.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k, _ := core.New(core.Options{Node: 1})
	defer func() { _ = k.Stop(context.Background()) }()
	_, _ = k.Spawn(ctx, ".game", func(s *core.Service) error {
		s.Handle("greet", func(_ core.ServiceID, user string, p []byte) string { return "hello " + user + ": " + string(p) })
		s.Handle("disconnected", func(core.ServiceID, string) {})
		return nil
	})
	g, err := gate.New(gate.Options{Addr: "127.0.0.1:0", Service: ".game", Auth: gate.NameAuth})
	if err != nil || g.Listen() != nil {
		fmt.Println(err)
		return
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, k) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			fmt.Println(err)
		}
	}()

	c, err := client.Dial(ctx, g.Addr().String(), client.Options{Credentials: []byte("ann")})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = c.Close() }()
	reply, err := c.Call(ctx, "greet", []byte("hi"))
	fmt.Println(string(reply), err)
	// Output: hello ann: hi <nil>
}
