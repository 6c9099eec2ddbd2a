package gate_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/gate"
	"github.com/lotou-io/lotou/runtime/gate/client"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness is a core with a game service ".game" and a gate in front of it.
type harness struct {
	g            *gate.Gate
	k            *core.Core
	addr         string
	disconnected atomic.Int32
	agents       chan core.ServiceID
}

func start(t *testing.T, opts gate.Options) *harness {
	t.Helper()
	k, err := core.New(core.Options{Node: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{k: k, agents: make(chan core.ServiceID, 16)}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = k.Spawn(ctx, ".game", func(s *core.Service) error {
		s.Handle("echo", func(_ core.ServiceID, _ string, p []byte) []byte { return p })
		s.Handle("whoami", func(_ core.ServiceID, user string, _ []byte) string { return user })
		s.Handle("boom", func(core.ServiceID, string, []byte) ([]byte, error) { return nil, errors.New("boom") })
		s.Handle("slow", func(c *core.Context, _ core.ServiceID, _ string, _ []byte) {})
		s.Handle("pushme", func(c *core.Context, agent core.ServiceID, _ string, p []byte) {
			_ = c.Send(agent, "push", "hi", p)
		})
		s.Handle("flood", func(c *core.Context, agent core.ServiceID, _ string, _ []byte) {
			// 120 MB, more than any socket buffers: the client that does not
			// read must be cut off, whatever the speed of its agent.
			big := make([]byte, 60<<10)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			for range 2000 {
				if c.SendWait(ctx, agent, "push", "big", big) != nil {
					return
				}
			}
		})
		s.Handle("register", func(agent core.ServiceID, _ string, _ []byte) { h.agents <- agent })
		s.Handle("disconnected", func(core.ServiceID, string) { h.disconnected.Add(1) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	opts.Service = ".game"
	if opts.Auth == nil {
		opts.Auth = gate.NameAuth
	}
	g, err := gate.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Listen(); err != nil {
		t.Fatal(err)
	}
	h.g, h.addr = g, g.Addr().String()
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, k) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		_ = k.Stop(context.Background())
	})
	return h
}

func dial(t *testing.T, h *harness, ws bool, o client.Options) *client.Client {
	t.Helper()
	o.WebSocket = ws
	if o.Credentials == nil {
		o.Credentials = []byte("alice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, h.addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctx5(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// closedWith waits for c to end and checks the gate's reason.
func closedWith(t *testing.T, c *client.Client, code string) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatalf("client not closed, want %q", code)
	}
	var e *client.Error
	if !errors.As(c.Err(), &e) || e.Code != code {
		t.Fatalf("closed with %v, want code %q", c.Err(), code)
	}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var transports = []struct {
	name string
	ws   bool
}{{"tcp", false}, {"ws", true}}

func TestCallSendPush(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			h := start(t, gate.Options{})
			pushes := make(chan string, 4)
			c := dial(t, h, tr.ws, client.Options{OnPush: func(cmd string, p []byte) { pushes <- cmd + ":" + string(p) }})
			if c.User() != "alice" {
				t.Fatalf("user %q", c.User())
			}
			got, err := c.Call(ctx5(t), "echo", []byte("hello"))
			if err != nil || string(got) != "hello" {
				t.Fatalf("echo = %q, %v", got, err)
			}
			if got, err := c.Call(ctx5(t), "whoami", nil); err != nil || string(got) != "alice" {
				t.Fatalf("whoami = %q, %v", got, err)
			}
			var ge *client.Error
			if _, err := c.Call(ctx5(t), "boom", nil); !errors.As(err, &ge) || ge.Code != gate.CodeFailed || !strings.Contains(ge.Text, "boom") {
				t.Fatalf("boom = %v", err)
			}
			if _, err := c.Call(ctx5(t), "nosuch", nil); !errors.As(err, &ge) || ge.Code != gate.CodeFailed {
				t.Fatalf("unknown command = %v", err)
			}
			if err := c.Send(ctx5(t), "pushme", []byte("x")); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-pushes:
				if p != "hi:x" {
					t.Fatalf("push %q", p)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no push")
			}
			if err := c.Ping(ctx5(t)); err != nil {
				t.Fatal(err)
			}
			if h.g.Sessions() != 1 {
				t.Fatalf("sessions %d", h.g.Sessions())
			}
			_ = c.Close()
			eventually(t, "session gone and game told", func() bool { return h.g.Sessions() == 0 && h.disconnected.Load() == 1 })
		})
	}
}

func TestHelloRefused(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			h := start(t, gate.Options{Auth: gate.TicketAuth([]byte("s3cret"), nil)})
			_, err := client.Dial(ctx5(t), h.addr, client.Options{WebSocket: tr.ws, Credentials: []byte("bob.1.00")})
			var ge *client.Error
			if !errors.As(err, &ge) || ge.Code != gate.CodeUnauthorized {
				t.Fatalf("dial with a bad ticket = %v", err)
			}
			tk, err := gate.NewTicket([]byte("s3cret"), "bob", time.Now().Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			c := dial(t, h, tr.ws, client.Options{Credentials: []byte(tk)})
			if c.User() != "bob" {
				t.Fatalf("user %q", c.User())
			}
			if h.g.Metrics().Closed(gate.CodeUnauthorized) != 1 {
				t.Fatal("unauthorized close not counted")
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := start(t, gate.Options{Rate: 1, Burst: 2, Now: clock})
	c := dial(t, h, false, client.Options{})
	for i := range 2 {
		if _, err := c.Call(ctx5(t), "echo", nil); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	var ge *client.Error
	if _, err := c.Call(ctx5(t), "echo", nil); !errors.As(err, &ge) || ge.Code != gate.CodeRateLimited {
		t.Fatalf("call over the burst = %v", err)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if _, err := c.Call(ctx5(t), "echo", nil); err != nil {
		t.Fatalf("call after a refill: %v", err)
	}
	if h.g.Metrics().RateLimited() != 1 {
		t.Fatalf("rate limited %d, want 1", h.g.Metrics().RateLimited())
	}
}

func TestIdleTimeout(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			h := start(t, gate.Options{IdleTimeout: 200 * time.Millisecond})
			c := dial(t, h, tr.ws, client.Options{})
			closedWith(t, c, gate.CodeIdle)
		})
	}
}

func TestMaxConns(t *testing.T) {
	h := start(t, gate.Options{MaxConns: 1})
	dial(t, h, false, client.Options{})
	for _, tr := range transports {
		_, err := client.Dial(ctx5(t), h.addr, client.Options{WebSocket: tr.ws, Credentials: []byte("bob")})
		var ge *client.Error
		if tr.ws {
			if err == nil {
				t.Fatal("second WebSocket client admitted")
			}
			continue
		}
		if !errors.As(err, &ge) || ge.Code != gate.CodeFull {
			t.Fatalf("%s: second client = %v, want %q", tr.name, err, gate.CodeFull)
		}
	}
}

func TestSlowConsumer(t *testing.T) {
	h := start(t, gate.Options{QueueSize: 8, WriteTimeout: 300 * time.Millisecond})
	nc := rawTCP(t, h.addr)
	if _, err := nc.Write(gate.AppendFrame(nil, &gate.Message{Kind: gate.KindHello, Session: 1, Cmd: gate.Version, Payload: []byte("slow")})); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(gate.AppendFrame(nil, &gate.Message{Kind: gate.KindSend, Cmd: "flood"})); err != nil {
		t.Fatal(err)
	}
	// The client never reads: the gate must cut it off rather than buffer.
	eventually(t, "slow consumer closed", func() bool { return h.g.Metrics().Closed(gate.CodeSlowConsumer) == 1 })
	eventually(t, "session gone", func() bool { return h.g.Sessions() == 0 })
}

func TestKick(t *testing.T) {
	h := start(t, gate.Options{})
	c := dial(t, h, true, client.Options{})
	if err := c.Send(ctx5(t), "register", nil); err != nil {
		t.Fatal(err)
	}
	agent := <-h.agents
	if err := h.k.Send(agent, "kick", "cheating"); err != nil {
		t.Fatal(err)
	}
	closedWith(t, c, gate.CodeKicked)
}

// TestDrain: every client gets a move notice; Drain returns once the
// clients have left, and refuses new ones meanwhile.
func TestDrain(t *testing.T) {
	h := start(t, gate.Options{})
	var moved atomic.Int32
	var cs []*client.Client
	for i, tr := range transports {
		cs = append(cs, dial(t, h, tr.ws, client.Options{Credentials: []byte{'x' + byte(i)}, OnMove: func(string) { moved.Add(1) }}))
	}
	left := make(chan struct{})
	go func() { // well-behaved clients leave when moved
		defer close(left)
		for deadline := time.Now().Add(5 * time.Second); moved.Load() < int32(len(cs)) && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		for _, c := range cs {
			_ = c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n := h.g.Drain(ctx); n != 0 {
		t.Fatalf("%d sessions left after drain", n)
	}
	<-left
	if moved.Load() != int32(len(cs)) {
		t.Fatalf("%d move notices, want %d", moved.Load(), len(cs))
	}
	if _, err := client.Dial(ctx5(t), h.addr, client.Options{Credentials: []byte("late")}); err == nil {
		t.Fatal("a new client was admitted while draining")
	}
}

func TestDrainTimeout(t *testing.T) {
	h := start(t, gate.Options{})
	dial(t, h, false, client.Options{}) // never leaves
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if left := h.g.Drain(ctx); left != 1 {
		t.Fatalf("left %d, want 1", left)
	}
}

func TestOptionsValidate(t *testing.T) {
	cases := []struct {
		name string
		o    gate.Options
		ok   bool
	}{
		{"defaults", gate.Options{Addr: ":7000", Service: "x"}, true},
		{"no service", gate.Options{Addr: ":7000"}, false},
		{"bad addr", gate.Options{Addr: "7000", Service: "x"}, false},
		{"tiny max", gate.Options{Addr: ":7000", Service: "x", MaxMessage: 3}, false},
		{"negative timeout", gate.Options{Addr: ":7000", Service: "x", IdleTimeout: -1}, false},
		{"NaN rate", gate.Options{Addr: ":7000", Service: "x", Rate: math.NaN()}, false},
		{"infinite rate", gate.Options{Addr: ":7000", Service: "x", Rate: math.Inf(1)}, false},
		{"rate off", gate.Options{Addr: ":7000", Service: "x", Rate: -1}, true},
		{"slow rate, default burst", gate.Options{Addr: ":7000", Service: "x", Rate: 0.2}, true},
		{"rate with zero burst after defaults", gate.Options{Addr: ":7000", Service: "x", Rate: 5, Burst: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.o.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
		})
	}
}
