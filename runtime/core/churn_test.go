package core_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

// TestStopHooksUseOtherServices: when the core stops, stop hooks of two
// services save through a third, which still serves until every hook ran.
func TestStopHooksUseOtherServices(t *testing.T) {
	c, err := core.New(core.Options{Node: 1})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var saved []string
	spawn(t, c, ".db", func(s *core.Service) error {
		s.Handle("save", func(who string) string {
			mu.Lock()
			saved = append(saved, who)
			mu.Unlock()
			return "ok"
		})
		return nil
	})
	hookErrs := make(chan error, 2)
	for _, name := range []string{".players", ".guilds"} {
		spawn(t, c, name, func(s *core.Service) error {
			s.OnStop(func() {
				db, err := s.Lookup(context.Background(), ".db")
				if err == nil {
					_, err = s.Call(ctxT(t), db, "save", name)
				}
				hookErrs <- err
			})
			return nil
		})
	}
	if err := c.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-hookErrs; err != nil {
			t.Errorf("stop hook could not call .db: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(saved) != 2 {
		t.Fatalf("saved %v, want both services", saved)
	}
	if c.Services() != 0 {
		t.Fatalf("%d services left after Stop", c.Services())
	}
}

// TestStopRefusesOutsideTrafficFirst: once Stop began, code outside the
// services can no longer Call in, while services still call each other.
func TestStopRefusesOutsideTrafficFirst(t *testing.T) {
	c, err := core.New(core.Options{Node: 1})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	hooked := make(chan struct{})
	echo := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("echo", func(v int) int { return v })
		return nil
	})
	spawn(t, c, "", func(s *core.Service) error {
		s.OnStop(func() {
			close(hooked)
			<-release
		})
		return nil
	})
	done := make(chan error, 1)
	go func() { done <- c.Stop(context.Background()) }()
	<-hooked
	if _, err := c.Call(ctxT(t), echo.ID(), "echo", 1); !errors.Is(err, core.ErrStopped) {
		t.Errorf("outside Call during stop hooks: %v, want ErrStopped", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestEventsAreBounded: a subscriber that does not keep up holds at most
// its mailbox capacity of events; the rest are dropped and counted.
func TestEventsAreBounded(t *testing.T) {
	c := newCore(t)
	block := make(chan struct{})
	var handled sync.WaitGroup
	const size, published = 16, 10000
	sub := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("block", func() { <-block })
		s.Subscribe(func(core.Event) { handled.Done() })
		return nil
	}, core.WithMailboxSize(size))
	if err := c.Send(sub.ID(), "block"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "subscriber busy", func() bool { return sub.Queued() == 0 })
	handled.Add(size)
	for i := range published {
		c.Publish(core.Event{Type: core.EventNameAdded, Name: fmt.Sprint(i)})
	}
	if q := sub.Queued(); q > size {
		t.Errorf("%d events queued for a mailbox of %d", q, size)
	}
	if got := c.Drops(core.DropEventOverflow); got != published-size {
		t.Errorf("dropped %d events, want %d", got, published-size)
	}
	close(block)
	handled.Wait()
	// Handled events free their slots: new ones are delivered again.
	handled.Add(1)
	c.Publish(core.Event{Type: core.EventNodeUp, Node: 3})
	handled.Wait()
}

// TestNestedCallKeepsOuterDeadline: a handler waiting in a Call with a
// short deadline returns at that deadline even while a nested handler of
// the same service waits in a Call with a longer one.
func TestNestedCallKeepsOuterDeadline(t *testing.T) {
	c := newCore(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hang := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("hang", func() { <-release })
		return nil
	})
	slow := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("slow", func() { <-release })
		return nil
	})
	innerStarted := make(chan struct{})
	type result struct {
		err     error
		elapsed time.Duration
	}
	outer := make(chan result, 1)
	a := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("outer", func() {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := s.Call(ctx, hang.ID(), "hang")
			outer <- result{err, time.Since(start)}
		})
		s.Handle("inner", func() {
			close(innerStarted)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			_, _ = s.Call(ctx, slow.ID(), "slow")
		})
		return nil
	})
	if err := c.Send(a.ID(), "outer"); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(a.ID(), "inner"); err != nil {
		t.Fatal(err)
	}
	<-innerStarted
	r := <-outer
	if !errors.Is(r.err, core.ErrCallTimeout) {
		t.Fatalf("outer call: %v, want ErrCallTimeout", r.err)
	}
	if r.elapsed >= 2*time.Second {
		t.Fatalf("outer call with a 100ms deadline returned after %v (the nested call's 3s)", r.elapsed)
	}
}

// TestRemoteErrorMatchesByCode: an error reply matches a sentinel only by
// the code it carries, never by words in its text.
func TestRemoteErrorMatchesByCode(t *testing.T) {
	tests := []struct {
		name string
		err  *core.RemoteError
		want error
		not  error
	}{
		{"text mentioning stopped, no code", &core.RemoteError{Msg: "player has stopped playing"}, nil, core.ErrStopped},
		{"unknown command code", &core.RemoteError{Msg: "x", Code: core.CodeOf(core.ErrUnknownCommand)}, core.ErrUnknownCommand, core.ErrStopped},
		{"draining code", &core.RemoteError{Msg: "y", Code: core.CodeOf(fmt.Errorf("w: %w", core.ErrNodeDraining))}, core.ErrNodeDraining, core.ErrNodeDown},
		{"code from a newer peer", &core.RemoteError{Msg: "z", Code: 250}, nil, core.ErrStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want != nil && !errors.Is(tt.err, tt.want) {
				t.Errorf("%v does not match %v", tt.err, tt.want)
			}
			if errors.Is(tt.err, tt.not) {
				t.Errorf("%v matches %v", tt.err, tt.not)
			}
		})
	}
	for i, s := range []error{core.ErrMailboxFull, core.ErrStopped, core.ErrStaleID, core.ErrTooLarge} {
		if code := core.CodeOf(fmt.Errorf("wrapped %d: %w", i, s)); code == 0 || code.Sentinel() != s {
			t.Errorf("CodeOf(%v) = %d, sentinel %v", s, code, code.Sentinel())
		}
	}
}

// capture is a Remote that records what the core sends to other nodes.
type capture struct {
	mu  sync.Mutex
	out []core.Message
}

func (r *capture) Deliver(m *core.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.out = append(r.out, *m)
	return nil
}

func (r *capture) last(t *testing.T) core.Message {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.out) == 0 {
		t.Fatal("no message sent back")
	}
	return r.out[len(r.out)-1]
}

// TestUndeliverableGetsErrorReply: a Call from another node that cannot be
// delivered is answered with an error reply naming the reason (code on the
// wire); a Send is counted as dropped by reason.
func TestUndeliverableGetsErrorReply(t *testing.T) {
	rem := &capture{}
	c := newCore(t, func(o *core.Options) { o.Incarnation = 5; o.Remote = rem })
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("ping", func() int { return 1 })
		return nil
	})
	if svc.ID().Incarnation() != 5 || svc.ID().Node() != 1 {
		t.Fatalf("service id %v does not carry node 1 incarnation 5", svc.ID())
	}
	from := core.MakeIncID(2, 9, 1)
	tests := []struct {
		name   string
		to     core.ServiceID
		want   error
		reason core.DropReason
	}{
		{"earlier incarnation", core.MakeIncID(1, 4, svc.ID().Index()), core.ErrStaleID, core.DropStaleID},
		{"another node", core.MakeIncID(3, 5, 1), core.ErrUndeliverable, core.DropWrongNode},
		{"no such service", core.MakeIncID(1, 5, 999), core.ErrServiceNotFound, core.DropNotFound},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			call := core.Message{Kind: core.KindCall, From: from, To: tt.to, Session: uint64(100 + i), Cmd: "ping"}
			if err := c.DeliverLocal(&call); !errors.Is(err, tt.want) {
				t.Errorf("DeliverLocal: %v, want %v", err, tt.want)
			}
			r := rem.last(t)
			if r.Kind != core.KindReply || r.To != from || r.Session != call.Session {
				t.Fatalf("reply %+v does not answer the call", r)
			}
			if got := (&core.RemoteError{Msg: r.Err, Code: r.Code}); !errors.Is(got, tt.want) {
				t.Errorf("reply error %q code %d, want %v", r.Err, r.Code, tt.want)
			}
			before := c.Drops(tt.reason)
			send := core.Message{Kind: core.KindSend, From: from, To: tt.to, Cmd: "ping"}
			_ = c.DeliverLocal(&send)
			if got := c.Drops(tt.reason); got != before+1 {
				t.Errorf("drops[%v] = %d, want %d", tt.reason, got, before+1)
			}
		})
	}
	// A reply for a session of an earlier incarnation is not taken for one
	// of ours.
	stale := core.Message{Kind: core.KindReply, From: from, To: core.MakeIncID(1, 4, 0), Session: 1}
	if err := c.DeliverLocal(&stale); err != nil {
		t.Fatal(err)
	}
	if c.Drops(core.DropStaleID) == 0 {
		t.Error("stale reply not counted")
	}
}

// TestForeignReplyDropped: a reply for a pending remote Call counts only when
// it comes from the node the Call went to. A reply naming another node (a
// forged or misrouted one, with the right session) is dropped and counted,
// and the Call still completes with the real reply.
func TestForeignReplyDropped(t *testing.T) {
	rem := &capture{}
	c := newCore(t, func(o *core.Options) { o.Incarnation = 5; o.Remote = rem })
	target := core.MakeIncID(2, 9, 3)
	done := make(chan []any, 1)
	go func() {
		ret, err := c.Call(ctxT(t), target, "get")
		if err != nil {
			t.Errorf("call: %v", err)
		}
		done <- ret
	}()
	var call core.Message
	eventually(t, "the call goes out", func() bool {
		rem.mu.Lock()
		defer rem.mu.Unlock()
		if len(rem.out) == 0 {
			return false
		}
		call = rem.out[0]
		return true
	})
	tests := []struct {
		name string
		from core.ServiceID
	}{
		{"another node", core.MakeIncID(3, 9, 3)},
		{"no node", 0},
		{"this node", core.MakeIncID(1, 5, 1)},
	}
	for _, tt := range tests {
		before := c.Drops(core.DropForeignReply)
		forged := core.Message{Kind: core.KindReply, From: tt.from, To: call.From, Session: call.Session, Args: []any{"forged"}}
		if err := c.DeliverLocal(&forged); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := c.Drops(core.DropForeignReply); got != before+1 {
			t.Errorf("%s: foreign_reply drops = %d, want %d", tt.name, got, before+1)
		}
		select {
		case ret := <-done:
			t.Fatalf("%s: the call took a forged reply: %v", tt.name, ret)
		default:
		}
	}
	genuine := core.Message{Kind: core.KindReply, From: target, To: call.From, Session: call.Session, Args: []any{"real"}}
	if err := c.DeliverLocal(&genuine); err != nil {
		t.Fatal(err)
	}
	if ret := <-done; len(ret) != 1 || ret[0] != "real" {
		t.Fatalf("call returned %v, want [real]", ret)
	}
}

// failingRemote fails the node while the send is under way, as a link that
// drops mid-send does (the transport reports the loss, then the send error).
type failingRemote struct {
	c    *core.Core
	fail atomic.Bool // else swallow: accept and never answer
}

func (r *failingRemote) Deliver(m *core.Message) error {
	if r.fail.Load() {
		r.c.FailNode(m.To.Node(), nil)
		return core.ErrNodeDown
	}
	return nil
}

// TestCallWaiterNotReusedAfterFailNode: a Call whose send fails while
// FailNode completes it must not hand its waiter, completed, to the next
// Call: that Call would return at once with no reply and no error.
func TestCallWaiterNotReusedAfterFailNode(t *testing.T) {
	rem := &failingRemote{}
	c := newCore(t, func(o *core.Options) { o.Remote = rem })
	rem.c = c
	to := core.MakeIncID(2, 9, 3)
	for i := range 20 {
		rem.fail.Store(true)
		if _, err := c.Call(ctxT(t), to, "x"); !errors.Is(err, core.ErrNodeDown) {
			t.Fatalf("round %d: failed send: %v, want ErrNodeDown", i, err)
		}
		rem.fail.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		ret, err := c.Call(ctx, to, "x")
		cancel()
		if !errors.Is(err, core.ErrCallTimeout) {
			t.Fatalf("round %d: call nobody answers returned %v, %v; want ErrCallTimeout", i, ret, err)
		}
	}
}
