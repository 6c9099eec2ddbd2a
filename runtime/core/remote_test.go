package core_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

// loopback is a Remote that hands messages straight to the peer core, as a
// transport would after encoding and decoding them.
type loopback struct {
	mu    sync.Mutex
	peers map[core.NodeID]*core.Core
	drop  bool // swallow everything, like a node that stopped answering
}

func (l *loopback) Deliver(m *core.Message) error {
	l.mu.Lock()
	peer, drop := l.peers[m.To.Node()], l.drop
	l.mu.Unlock()
	if drop {
		return nil
	}
	if peer == nil {
		return core.ErrNodeDown
	}
	cp := *m // the wire does not share memory
	cp.Args = append([]any(nil), m.Args...)
	_ = peer.DeliverLocal(&cp) // errors go back to the sender as replies
	return nil
}

// twoNodes returns cores of nodes 1 and 2 joined by a loopback.
func twoNodes(t *testing.T) (*core.Core, *core.Core, *loopback) {
	t.Helper()
	lb := &loopback{peers: map[core.NodeID]*core.Core{}}
	c1 := newCore(t, func(o *core.Options) { o.Node = 1; o.Remote = lb })
	c2 := newCore(t, func(o *core.Options) { o.Node = 2 })
	c2.SetRemote(lb)
	lb.peers[1], lb.peers[2] = c1, c2
	return c1, c2, lb
}

func TestRemoteMessages(t *testing.T) {
	c1, c2, _ := twoNodes(t)
	got := make(chan int, 1)
	far := spawn(t, c2, "", func(s *core.Service) error {
		s.Handle("add", func(a, b int) int { return a + b })
		s.Handle("n", func(n int) { got <- n })
		return nil
	})
	near := spawn(t, c1, "", func(s *core.Service) error {
		s.Handle("call", func(c *core.Context, to core.ServiceID) (int, error) {
			ret, err := c.Call(context.Background(), to, "add", 40, 2)
			if err != nil {
				return 0, err
			}
			return ret[0].(int), nil
		})
		s.Handle("req", func(to core.ServiceID) {
			s.Request(to, time.Second, func(ret []any, err error) {
				if err == nil {
					got <- ret[0].(int)
				}
			}, "add", 1, 2)
		})
		return nil
	})
	if err := c1.Send(far.ID(), "n", 7); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != 7 {
		t.Fatalf("remote send got %d", n)
	}
	if ret, err := c1.Call(ctxT(t), far.ID(), "add", 1, 1); err != nil || ret[0] != 2 {
		t.Fatalf("remote call from outside: %v %v", ret, err)
	}
	if ret, err := c1.Call(ctxT(t), near.ID(), "call", far.ID()); err != nil || ret[0] != 42 {
		t.Fatalf("remote call from a service: %v %v", ret, err)
	}
	if err := c1.Send(near.ID(), "req", far.ID()); err != nil {
		t.Fatal(err)
	}
	if n := <-got; n != 3 {
		t.Fatalf("remote request got %d", n)
	}
	_, err := c1.Call(ctxT(t), far.ID(), "nope")
	var re *core.RemoteError
	if !errors.Is(err, core.ErrUnknownCommand) || !errors.As(err, &re) {
		t.Fatalf("remote unknown command: %v, want RemoteError matching ErrUnknownCommand", err)
	}
	if _, err := c1.Call(ctxT(t), core.MakeID(2, 999), "add", 1, 2); !errors.Is(err, core.ErrServiceNotFound) {
		t.Fatalf("remote unknown service: %v", err)
	}
	if err := c1.Close(far.ID(), false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "remote close", func() bool { return c2.Services() == 0 })
}

func TestFailNode(t *testing.T) {
	c1, c2, lb := twoNodes(t)
	far := spawn(t, c2, "", func(s *core.Service) error {
		s.Handle("add", func(a, b int) int { return a + b })
		return nil
	})
	results := make(chan error, 2)
	near := spawn(t, c1, "", func(s *core.Service) error {
		s.Handle("req", func(to core.ServiceID) {
			s.Request(to, 0, func(_ []any, err error) { results <- err }, "add", 1, 2)
		})
		return nil
	})
	lb.mu.Lock()
	lb.drop = true
	lb.mu.Unlock()
	if err := c1.Send(near.ID(), "req", far.ID()); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, err := c1.Call(context.Background(), far.ID(), "add", 1, 2)
		results <- err
	}()
	cause := errors.New("connection reset")
	// Fail until both have registered their pending sessions.
	deadline := time.After(5 * time.Second)
	for got := 0; got < 2; {
		c1.FailNode(2, cause)
		select {
		case err := <-results:
			if !errors.Is(err, core.ErrNodeDown) || !errors.Is(err, cause) {
				t.Fatalf("err = %v, want ErrNodeDown wrapping the cause", err)
			}
			got++
		case <-time.After(time.Millisecond):
		case <-deadline:
			t.Fatal("pending calls not failed")
		}
	}
}

func TestNoRemote(t *testing.T) {
	c := newCore(t)
	if err := c.Send(core.MakeID(9, 1), "x"); !errors.Is(err, core.ErrNodeDown) {
		t.Fatalf("send without Remote: %v, want ErrNodeDown", err)
	}
	if _, err := c.Call(ctxT(t), core.MakeID(9, 1), "x"); !errors.Is(err, core.ErrNodeDown) {
		t.Fatalf("call without Remote: %v, want ErrNodeDown", err)
	}
}

func TestDeliverLocalRejectsGarbage(t *testing.T) {
	c := newCore(t)
	tests := map[string]*core.Message{
		"nil":         nil,
		"other node":  {Kind: core.KindSend, To: core.MakeID(5, 1)},
		"bad kind":    {Kind: 99, To: core.MakeID(1, 1)},
		"bad event":   {Kind: core.KindEvent, To: core.MakeID(1, 0), Args: []any{"x"}},
		"stray reply": {Kind: core.KindReply, To: core.MakeID(1, 0), Session: 12345},
	}
	for name, m := range tests {
		t.Run(name, func(t *testing.T) {
			_ = c.DeliverLocal(m) // must not panic; errors are informational
		})
	}
}

// countingRemote checks what it is lent and keeps nothing, like the cluster
// (which encodes the message before Deliver returns).
type countingRemote struct{ n, bad int }

func (r *countingRemote) Deliver(m *core.Message) error {
	r.n++
	if m.Cmd != "hit" || len(m.Args) != 2 || m.Args[0] != 7 || m.Args[1] != "x" {
		r.bad++
	}
	return nil
}

// TestRemoteDeliverBorrows checks that handing a one-way message to the
// Remote allocates nothing: the message is lent for the call, not copied.
func TestRemoteDeliverBorrows(t *testing.T) {
	r := &countingRemote{}
	c := newCore(t, func(o *core.Options) { o.Node = 1; o.Remote = r })
	to := core.MakeID(2, 5)
	allocs := testing.AllocsPerRun(200, func() {
		if err := c.Send(to, "hit", 7, "x"); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("a remote Send allocated %.1f times, want 0", allocs)
	}
	if r.n == 0 || r.bad != 0 {
		t.Errorf("Deliver saw %d messages, %d of them wrong", r.n, r.bad)
	}
}
