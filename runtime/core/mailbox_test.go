package core_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/lotou-io/lotou/runtime/core"
)

func TestMailboxFull(t *testing.T) {
	c := newCore(t)
	entered := make(chan struct{})
	release := make(chan struct{})
	var got []int
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("block", func() { close(entered); <-release })
		s.Handle("n", func(n int) { got = append(got, n) })
		s.Handle("got", func() []int { return append([]int(nil), got...) })
		return nil
	}, core.WithMailboxSize(2))
	if err := c.Send(svc.ID(), "block"); err != nil {
		t.Fatal(err)
	}
	<-entered
	for i := range 2 {
		if err := c.Send(svc.ID(), "n", i); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := c.Send(svc.ID(), "n", 2); !errors.Is(err, core.ErrMailboxFull) {
		t.Fatalf("send to full mailbox: %v, want ErrMailboxFull", err)
	}
	short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := c.SendWait(short, svc.ID(), "n", 2); !errors.Is(err, core.ErrMailboxFull) {
		t.Fatalf("SendWait with expiring ctx: %v, want ErrMailboxFull", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- c.SendWait(context.Background(), svc.ID(), "n", 2) }()
	close(release)
	if err := <-waited; err != nil {
		t.Fatalf("SendWait: %v", err)
	}
	ret, err := c.Call(ctxT(t), svc.ID(), "got")
	if err != nil {
		t.Fatal(err)
	}
	if g := ret[0].([]int); len(g) != 3 || g[0] != 0 || g[1] != 1 || g[2] != 2 {
		t.Fatalf("handled %v, want [0 1 2]", g)
	}
}

// logBuffer collects log lines.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *logBuffer) write(prefix, args string) {
	b.mu.Lock()
	b.lines = append(b.lines, prefix+" "+args)
	b.mu.Unlock()
}

func (b *logBuffer) contains(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func TestPanicIsolation(t *testing.T) {
	logs := &logBuffer{}
	c := newCore(t, func(o *core.Options) { o.Logger = funcr.New(logs.write, funcr.Options{}) })
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("panic", func() int { panic("kaboom") })
		s.Handle("ok", func() string { return "still here" })
		return nil
	})
	// The caller gets the error at once, long before its deadline.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err := c.Call(ctx, svc.ID(), "panic")
	if !errors.Is(err, core.ErrHandlerPanic) || !strings.Contains(err.Error(), "kaboom") {
		t.Fatalf("err = %v, want ErrHandlerPanic with the panic value", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("panic error waited for the deadline")
	}
	ret, err := c.Call(ctxT(t), svc.ID(), "ok")
	if err != nil || ret[0] != "still here" {
		t.Fatalf("service after panic: %v %v", ret, err)
	}
	if !logs.contains("Handler panicked") || !logs.contains("goroutine") {
		t.Fatalf("panic not logged with stack: %v", logs.lines)
	}
}
