package core_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

func TestTimers(t *testing.T) {
	c := newCore(t)
	fired := make(chan string, 16)
	var every core.TimerID
	ticks := 0
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.After(time.Millisecond, func() { fired <- "after" })
		cancelled := s.After(time.Millisecond, func() { fired <- "cancelled" })
		if !s.Cancel(cancelled) {
			return errors.New("cancel of a fresh timer failed")
		}
		every = s.Every(time.Millisecond, func() {
			ticks++
			if ticks == 3 {
				s.Cancel(every)
				fired <- "every done"
			}
		})
		s.Handle("timers", func() int { return s.Timers() })
		s.Handle("ticks", func() int { return ticks })
		s.Handle("fence", func(d time.Duration) { s.After(d, func() { fired <- "fence" }) })
		return nil
	})
	seen := map[string]bool{}
	for len(seen) < 2 {
		select {
		case f := <-fired:
			seen[f] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("timers fired: %v", seen)
		}
	}
	if seen["cancelled"] {
		t.Fatal("cancelled timer fired")
	}
	ret, err := c.Call(ctxT(t), svc.ID(), "timers")
	if err != nil || ret[0] != 0 {
		t.Fatalf("active timers = %v (%v), want 0", ret, err)
	}
	// A cancelled Every must stay silent: let a later timer pass first.
	if err := c.Send(svc.ID(), "fence", 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if f := <-fired; f != "fence" {
		t.Fatalf("unexpected timer %q", f)
	}
	if ret, err := c.Call(ctxT(t), svc.ID(), "ticks"); err != nil || ret[0] != 3 {
		t.Fatalf("ticks = %v (%v), want 3", ret, err)
	}
}

func TestTimersCancelledOnStop(t *testing.T) {
	c := newCore(t)
	left := make(chan int, 1)
	var ran atomic.Bool
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.After(time.Hour, func() { ran.Store(true) })
		s.Every(time.Hour, func() { ran.Store(true) })
		s.OnStop(func() { left <- s.Timers() })
		return nil
	})
	svc.Exit()
	if n := <-left; n != 0 {
		t.Fatalf("%d timers active in stop hook", n)
	}
	if ran.Load() {
		t.Fatal("timer ran")
	}
}

func TestGracefulStopDrains(t *testing.T) {
	c, err := core.New(core.Options{Node: 1, MailboxSize: 10000})
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	handled := 0
	final := make(chan int, 1)
	svc, err := c.Spawn(ctxT(t), ".sink", func(s *core.Service) error {
		s.Handle("n", func(int) { handled++ })
		s.OnStop(func() { final <- handled })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := c.Send(svc.ID(), "n", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := <-final; got != n {
		t.Fatalf("handled %d of %d queued messages", got, n)
	}
	if err := c.Send(svc.ID(), "n", 0); !errors.Is(err, core.ErrStopped) {
		t.Fatalf("send after stop: %v, want ErrStopped", err)
	}
	if _, err := c.Lookup(ctxT(t), ".sink"); !errors.Is(err, core.ErrServiceNotFound) {
		t.Fatalf("name after stop: %v, want ErrServiceNotFound", err)
	}
	if err := c.Stop(ctxT(t)); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestClose(t *testing.T) {
	tests := []struct {
		name       string
		force      bool
		wantQueued error
	}{
		{"graceful", false, nil},
		{"forced", true, core.ErrStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCore(t)
			entered := make(chan struct{})
			release := make(chan struct{})
			stopped := make(chan struct{})
			svc := spawn(t, c, "", func(s *core.Service) error {
				s.Handle("block", func() { close(entered); <-release })
				s.Handle("val", func() int { return 1 })
				s.OnStop(func() { close(stopped) })
				return nil
			})
			if err := c.Send(svc.ID(), "block"); err != nil {
				t.Fatal(err)
			}
			<-entered
			queued := make(chan error, 1)
			go func() {
				_, err := c.Call(context.Background(), svc.ID(), "val")
				queued <- err
			}()
			eventually(t, "call queued", func() bool { return svc.Queued() == 1 })
			if err := c.Close(svc.ID(), tt.force); err != nil {
				t.Fatal(err)
			}
			close(release)
			if err := <-queued; !errors.Is(err, tt.wantQueued) || (tt.wantQueued == nil && err != nil) {
				t.Fatalf("queued call: %v, want %v", err, tt.wantQueued)
			}
			<-stopped
			eventually(t, "service gone", func() bool { return c.Services() == 0 })
		})
	}
}

func TestNamesAndEvents(t *testing.T) {
	c := newCore(t)
	events := make(chan core.Event, 8)
	spawn(t, c, "", func(s *core.Service) error {
		s.Subscribe(func(ev core.Event) { events <- ev })
		return nil
	})
	local := spawn(t, c, ".local", func(*core.Service) error { return nil })
	if _, err := c.Spawn(ctxT(t), ".local", func(*core.Service) error { return nil }); !errors.Is(err, core.ErrNameTaken) {
		t.Fatalf("duplicate local name: %v, want ErrNameTaken", err)
	}
	global := spawn(t, c, "world", func(*core.Service) error { return nil })
	if _, err := c.Spawn(ctxT(t), "world", func(*core.Service) error { return nil }); !errors.Is(err, core.ErrNameTaken) {
		t.Fatalf("duplicate global name: %v, want ErrNameTaken", err)
	}
	for name, want := range map[string]core.ServiceID{".local": local.ID(), "world": global.ID()} {
		if id, err := c.Lookup(ctxT(t), name); err != nil || id != want {
			t.Fatalf("Lookup(%q) = %v, %v; want %v", name, id, err, want)
		}
	}
	if ev := <-events; ev.Type != core.EventNameAdded || ev.Name != "world" || ev.ID != global.ID() {
		t.Fatalf("event %+v, want name added", ev)
	}
	global.Exit()
	if ev := <-events; ev.Type != core.EventNameRemoved || ev.Name != "world" {
		t.Fatalf("event %+v, want name removed", ev)
	}
	c.Publish(core.Event{Type: core.EventNodeDown, Node: 3})
	if ev := <-events; ev.Type != core.EventNodeDown || ev.Node != 3 {
		t.Fatalf("event %+v, want node down", ev)
	}
}

func TestInitFailure(t *testing.T) {
	c := newCore(t)
	errInit := errors.New("no config")
	tests := map[string]func(s *core.Service) error{
		"error": func(*core.Service) error { return errInit },
		"panic": func(*core.Service) error { panic("bad init") },
	}
	for name, setup := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := c.Spawn(ctxT(t), ".svc", setup)
			if err == nil {
				t.Fatal("start succeeded")
			}
			// The name is free again and nothing is left running.
			s := spawn(t, c, ".svc", func(*core.Service) error { return nil })
			s.Exit()
			eventually(t, "exit", func() bool { return c.Services() == 0 })
		})
	}
}

func TestStopRefusesStart(t *testing.T) {
	c := newCore(t)
	if err := c.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Spawn(ctxT(t), "", func(*core.Service) error { return nil }); !errors.Is(err, core.ErrStopped) {
		t.Fatalf("spawn after stop: %v, want ErrStopped", err)
	}
	if _, err := c.Call(ctxT(t), core.MakeID(1, 1), "x"); !errors.Is(err, core.ErrStopped) {
		t.Fatalf("call after stop: %v, want ErrStopped", err)
	}
}

func TestRunAndStopTimeout(t *testing.T) {
	c, err := core.New(core.Options{Node: 1, StopTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	stopped := make(chan struct{})
	svc, err := c.Spawn(ctxT(t), "", func(s *core.Service) error {
		s.Handle("block", func() { close(entered); <-release })
		s.OnStop(func() { close(stopped) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(svc.ID(), "block"); err != nil {
		t.Fatal(err)
	}
	<-entered
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A handler stuck past StopTimeout: Run reports it and force-stops.
	if err := c.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want DeadlineExceeded", err)
	}
	close(release)
	<-stopped
	eventually(t, "service gone", func() bool { return c.Services() == 0 })
}
