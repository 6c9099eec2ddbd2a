package core_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/lotou-io/lotou/runtime/core"
)

// TestRequestExactlyOnceRacingTimeout fires Requests whose deadline is
// about as long as the round trip, so late replies race the timeouts: each
// callback must run exactly once, with either the reply or ErrCallTimeout.
func TestRequestExactlyOnceRacingTimeout(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
	}{
		{"1µs", time.Microsecond},
		{"20µs", 20 * time.Microsecond},
		{"200µs", 200 * time.Microsecond},
		{"none", 0},
	}
	const n = 300
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCore(t)
			target := spawn(t, c, "", func(s *core.Service) error {
				s.Handle("echo", func(i int) int { return i })
				return nil
			})
			counts := make([]int, n) // owned by the requester goroutine
			var bad []string
			req := spawn(t, c, "", func(s *core.Service) error {
				s.Handle("go", func() {
					for i := range n {
						s.Request(target.ID(), tt.timeout, func(ret []any, err error) {
							counts[i]++
							ok := (err == nil && len(ret) == 1 && ret[0] == i) || errors.Is(err, core.ErrCallTimeout)
							if !ok {
								bad = append(bad, fmt.Sprintf("ret=%v err=%v", ret, err))
							}
						}, "echo", i)
					}
				})
				s.Handle("count", func() int {
					total := 0
					for _, k := range counts {
						total += min(k, 1)
					}
					return total
				})
				s.Handle("check", func() ([]int, []string) { return append([]int(nil), counts...), bad })
				return nil
			})
			if err := c.Send(req.ID(), "go"); err != nil {
				t.Fatal(err)
			}
			eventually(t, "every callback", func() bool {
				ret, err := c.Call(ctxT(t), req.ID(), "count")
				return err == nil && ret[0] == n
			})
			// Every reply has been sent once echo has handled all: flush the
			// target, then the requester (FIFO), so late replies are seen.
			if _, err := c.Call(ctxT(t), target.ID(), "echo", 0); err != nil {
				t.Fatal(err)
			}
			ret, err := c.Call(ctxT(t), req.ID(), "check")
			if err != nil {
				t.Fatal(err)
			}
			for i, k := range ret[0].([]int) {
				if k != 1 {
					t.Errorf("request %d: callback ran %d times", i, k)
				}
			}
			if b := ret[1].([]string); len(b) > 0 {
				t.Errorf("unexpected callback results: %v", b)
			}
		})
	}
}

// TestForcedCloseStopsMidBatch: messages already taken from the mailbox in
// the same batch as the running one are not handled after a forced Close;
// those expecting a reply fail with ErrStopped.
func TestForcedCloseStopsMidBatch(t *testing.T) {
	c := newCore(t)
	gate, entered, release := make(chan struct{}), make(chan struct{}), make(chan struct{})
	handled := 0
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("gate", func() { <-gate })
		s.Handle("block", func() { close(entered); <-release })
		s.Handle("val", func() int { handled++; return handled })
		return nil
	})
	if err := c.Send(svc.ID(), "gate"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "gate taken", func() bool { return svc.Queued() == 0 })
	// Queue block + 3 calls while gate runs: they form the next batch.
	if err := c.Send(svc.ID(), "block"); err != nil {
		t.Fatal(err)
	}
	const calls = 3
	errs := make(chan error, calls)
	for range calls {
		go func() {
			_, err := c.Call(context.Background(), svc.ID(), "val")
			errs <- err
		}()
	}
	eventually(t, "calls queued", func() bool { return svc.Queued() == 1+calls })
	close(gate)
	<-entered
	if err := c.Close(svc.ID(), true); err != nil {
		t.Fatal(err)
	}
	close(release)
	for range calls {
		if err := <-errs; !errors.Is(err, core.ErrStopped) {
			t.Errorf("call queued behind a forced close: %v, want ErrStopped", err)
		}
	}
	eventually(t, "service gone", func() bool { return c.Services() == 0 })
	if handled != 0 {
		t.Errorf("%d messages handled after the forced close", handled)
	}
}

// TestStopHookStartsWork: a Request made by a stop hook still gets its
// one callback (ErrStopped), and a nil Request callback is accepted.
func TestStopHookStartsWork(t *testing.T) {
	var mu sync.Mutex
	var panics []string
	log := funcr.New(func(prefix, args string) {
		if strings.Contains(args, "panicked") {
			mu.Lock()
			panics = append(panics, args)
			mu.Unlock()
		}
	}, funcr.Options{})
	c := newCore(t, func(o *core.Options) { o.Logger = log })
	release := make(chan struct{})
	target := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("slow", func() { <-release })
		return nil
	})
	var got []error
	done, ticked := make(chan struct{}), make(chan struct{})
	svc := spawn(t, c, "", func(s *core.Service) error {
		s.Handle("nilcb", func() {
			s.Request(target.ID(), time.Microsecond, nil, "slow")
			s.After(5*time.Millisecond, func() { close(ticked) }) // long after the 1µs deadline
		})
		s.Handle("sync", func() {})
		s.OnStop(func() {
			s.Request(target.ID(), time.Hour, func(_ []any, err error) { got = append(got, err) }, "slow")
			s.After(time.Hour, func() {})
		})
		s.OnStop(func() {}) // runs first (hooks run in reverse)
		return nil
	})
	go func() { <-done; close(release) }()
	if err := c.Send(svc.ID(), "nilcb"); err != nil {
		t.Fatal(err)
	}
	<-ticked
	if _, err := c.Call(ctxT(t), svc.ID(), "sync"); err != nil { // the timeout is handled by now
		t.Fatal(err)
	}
	if err := c.Close(svc.ID(), false); err != nil {
		t.Fatal(err)
	}
	eventually(t, "service gone", func() bool { return c.Services() == 1 })
	close(done)
	if len(got) != 1 || !errors.Is(got[0], core.ErrStopped) {
		t.Errorf("stop-hook request callbacks: %v, want one ErrStopped", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(panics) > 0 {
		t.Errorf("nil callback panicked: %v", panics)
	}
}
