package core_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

// delayed starts a service whose "do" handler works for the given number
// of milliseconds and answers it.
func delayed(t *testing.T, c *core.Core, ran *atomic.Int32) *core.Service {
	t.Helper()
	return spawn(t, c, "", func(s *core.Service) error {
		s.Handle("do", func(ms int) int {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			ran.Add(1)
			return ms
		})
		return nil
	})
}

// relayService starts a service whose "relay" handler Calls "do" on one of
// targets with its own budget, as a game's gateway would.
func relayService(t *testing.T, c *core.Core, targets []core.ServiceID) *core.Service {
	t.Helper()
	return spawn(t, c, "", func(s *core.Service) error {
		s.Handle("relay", func(cx *core.Context, target, ms, budget int) (int, error) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(budget)*time.Millisecond)
			defer cancel()
			ret, err := cx.Call(ctx, targets[target], "do", ms)
			if err != nil {
				return 0, err
			}
			return ret[0].(int), nil
		})
		s.Handle("ping", func() string { return "pong" })
		return nil
	})
}

// TestNestedCallsOwnDeadlines: while a relay handler waits in a Call with a
// 100 ms budget on a target that takes 1 s, a second relay handler of the
// same service Calls a target that answers in 200 ms with a 1 s budget. The
// second must succeed (its target ran: reporting it failed would be a lie),
// and the first must return at its own deadline, not after the second.
// With nested dispatch on one stack the second Call was cut at the first's
// deadline (or the first returned only when the second did).
func TestNestedCallsOwnDeadlines(t *testing.T) {
	c := newCore(t)
	var slowRan, fastRan atomic.Int32
	slow := delayed(t, c, &slowRan)
	fast := delayed(t, c, &fastRan)
	r := relayService(t, c, []core.ServiceID{slow.ID(), fast.ID()})

	type result struct {
		err  error
		took time.Duration
	}
	first, second := make(chan result, 1), make(chan result, 1)
	start := time.Now()
	go func() {
		_, err := c.Call(ctxT(t), r.ID(), "relay", 0, 1000, 100)
		first <- result{err, time.Since(start)}
	}()
	time.Sleep(20 * time.Millisecond) // the first relay is waiting now
	go func() {
		ret, err := c.Call(ctxT(t), r.ID(), "relay", 1, 200, 1000)
		if err == nil && ret[0] != 200 {
			err = errors.New("wrong answer")
		}
		second <- result{err, time.Since(start)}
	}()
	f := <-first
	if !errors.Is(f.err, core.ErrCallTimeout) {
		t.Fatalf("first relay: %v, want ErrCallTimeout", f.err)
	}
	if f.took > 600*time.Millisecond {
		t.Fatalf("first relay (100 ms budget) returned after %v: it waited for the other handler", f.took)
	}
	s := <-second
	if s.err != nil {
		t.Fatalf("second relay failed (%v) after %v; its target ran %d times", s.err, s.took, fastRan.Load())
	}
	if fastRan.Load() != 1 {
		t.Fatalf("fast target ran %d times", fastRan.Load())
	}
}

// TestSuspendedHandlersCompleteByReply: handlers suspended in Calls resume
// in the order their replies come, not last in first out (the first one,
// answered after 50 ms, does not wait for the second, answered after
// 300 ms), and the service answers other messages meanwhile.
func TestSuspendedHandlersCompleteByReply(t *testing.T) {
	c := newCore(t)
	var ran atomic.Int32
	w1, w2 := delayed(t, c, &ran), delayed(t, c, &ran)
	r := relayService(t, c, []core.ServiceID{w1.ID(), w2.ID()})
	var took [2]time.Duration
	var wg sync.WaitGroup
	start := time.Now()
	for i, ms := range []int{50, 300} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Call(ctxT(t), r.ID(), "relay", i, ms, 2000); err != nil {
				t.Errorf("relay %d: %v", i, err)
			}
			took[i] = time.Since(start)
		}()
		time.Sleep(10 * time.Millisecond)
	}
	ret, err := c.Call(ctxT(t), r.ID(), "ping")
	if err != nil || ret[0] != "pong" {
		t.Fatalf("ping while two handlers wait: %v %v", ret, err)
	}
	wg.Wait()
	if took[0] > 250*time.Millisecond || took[1] < 300*time.Millisecond {
		t.Fatalf("the 50 ms relay returned after %v, the 300 ms one after %v: the first waited for the second", took[0], took[1])
	}
}

// TestStopWhileParked: a core stopped while handlers are suspended in Calls
// that will never be answered: the Calls end with ErrStopped and no
// goroutine is left (goleak checks at the end of the package).
func TestStopWhileParked(t *testing.T) {
	c, err := core.New(core.Options{Node: 1})
	if err != nil {
		t.Fatal(err)
	}
	never := make(chan struct{})
	sink, err := c.Spawn(context.Background(), "", func(s *core.Service) error {
		s.Handle("hold", func() { <-never })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 3)
	r, err := c.Spawn(context.Background(), "", func(s *core.Service) error {
		s.Handle("wait", func(cx *core.Context) error {
			_, err := cx.Call(context.Background(), sink.ID(), "hold")
			errs <- err
			return err
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := c.Send(r.ID(), "wait"); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond) // all three suspended (the sink holds the first)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := c.Stop(ctx); err == nil {
		t.Fatal("stop with a handler blocked for ever: no error")
	}
	close(never)
	for range 3 {
		select {
		case err := <-errs:
			if !errors.Is(err, core.ErrStopped) {
				t.Fatalf("suspended Call: %v, want ErrStopped", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("a suspended Call never returned")
		}
	}
}

// blockingRegistry never knows a name: Lookup waits until its ctx ends.
type blockingRegistry struct{ *core.LocalRegistry }

func (*blockingRegistry) Lookup(ctx context.Context, name string) (core.ServiceID, error) {
	<-ctx.Done()
	return 0, core.ErrServiceNotFound
}

// TestLookupSuspends: a handler looking up a name that is not known yet
// does not hold its service: another message is answered meanwhile.
func TestLookupSuspends(t *testing.T) {
	reg := &blockingRegistry{LocalRegistry: core.NewLocalRegistry()}
	c := newCore(t, func(o *core.Options) { o.Registry = reg })
	r := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("find", func(cx *core.Context) error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := cx.Lookup(ctx, "ghost")
			return err
		})
		s.Handle("ping", func() string { return "pong" })
		return nil
	})
	found := make(chan error, 1)
	go func() {
		_, err := c.Call(ctxT(t), r.ID(), "find")
		found <- err
	}()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	if _, err := c.Call(ctxT(t), r.ID(), "ping"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("ping answered after %v: the lookup held the service", d)
	}
	// The registry gives up and the Call times out at the same moment:
	// either answer is right.
	if err := <-found; !errors.Is(err, core.ErrCallTimeout) && !errors.Is(err, core.ErrServiceNotFound) {
		t.Fatalf("lookup of an unknown name: %v, want ErrCallTimeout or ErrServiceNotFound", err)
	}
}

// lastOut returns the last message rem captured, if any.
func lastOut(rem *capture) (core.Message, bool) {
	rem.mu.Lock()
	defer rem.mu.Unlock()
	if len(rem.out) == 0 {
		return core.Message{}, false
	}
	return rem.out[len(rem.out)-1], true
}

// TestSpentBudgetNotRun: a Call from another node whose deadline passed
// before its handler started is answered ErrDeadlineExceeded and not run; a
// Call with budget left runs, and its handler's nested Calls inherit the
// budget (a nested Call with no deadline of its own ends at it).
func TestSpentBudgetNotRun(t *testing.T) {
	rem := &capture{}
	c := newCore(t, func(o *core.Options) { o.Remote = rem })
	var ran atomic.Int32
	never := make(chan struct{})
	defer close(never)
	sink := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("hold", func() { <-never })
		return nil
	})
	var nested atomic.Value
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("work", func() { ran.Add(1) })
		s.Handle("nest", func(cx *core.Context) error {
			if _, ok := cx.Deadline(); !ok {
				return errors.New("no deadline seen")
			}
			start := time.Now()
			_, err := cx.Call(context.Background(), sink.ID(), "hold")
			nested.Store(time.Since(start))
			return err
		})
		return nil
	})
	from := core.MakeIncID(2, 7, 1)
	for i, tc := range []struct {
		cmd    string
		budget time.Duration
		want   error
	}{
		{"work", -time.Millisecond, core.ErrDeadlineExceeded},
		{"work", time.Second, nil},
		{"nest", 150 * time.Millisecond, core.ErrCallTimeout},
	} {
		m := core.Message{Kind: core.KindCall, From: from, To: svc.ID(), Session: uint64(100 + i), Cmd: tc.cmd,
			Deadline: time.Now().Add(tc.budget)}
		if err := c.DeliverLocal(&m); err != nil {
			t.Fatal(err)
		}
		var reply core.Message
		eventually(t, "a reply", func() bool {
			r, ok := lastOut(rem)
			reply = r
			return ok && r.Session == m.Session
		})
		var err error
		if reply.Err != "" {
			err = &core.RemoteError{Msg: reply.Err, Code: reply.Code}
		}
		if (tc.want == nil) != (err == nil) || tc.want != nil && !errors.Is(err, tc.want) {
			t.Fatalf("%s with budget %v: %v, want %v", tc.cmd, tc.budget, err, tc.want)
		}
	}
	if ran.Load() != 1 {
		t.Fatalf("work ran %d times, want 1 (the spent one must not run)", ran.Load())
	}
	if d, _ := nested.Load().(time.Duration); d > time.Second {
		t.Fatalf("nested Call ended after %v, not at the inherited 150 ms budget", d)
	}
}
