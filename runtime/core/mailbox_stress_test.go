package core_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

// TestMailboxStressCloseWhileSending runs many producers (Send, SendWait
// and Call) against one service while it is closed, gracefully or by force,
// and checks what the mailbox promises: no message handled twice or out of
// its producer's order, none handled that was refused, after a graceful
// close every accepted message handled, every Call answered (never left to
// its deadline), and only the documented errors.
func TestMailboxStressCloseWhileSending(t *testing.T) {
	const producers, perProducer = 8, 1500
	for _, tc := range []struct {
		name  string
		size  int
		force bool
	}{
		{"graceful, small mailbox", 4, false},
		{"graceful, default mailbox", 0, false},
		{"forced, small mailbox", 4, true},
		{"forced, default mailbox", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCore(t)
			handled := make([][]int, producers) // owned by the service goroutine until stopped
			stopped := make(chan struct{})
			busy := make(chan struct{}) // closed once a quarter of all messages is handled
			count := 0
			note := func(p, i int) {
				handled[p] = append(handled[p], i)
				if count++; count == producers*perProducer/4 {
					close(busy)
				}
			}
			var opts []core.ServiceOption
			if tc.size > 0 {
				opts = append(opts, core.WithMailboxSize(tc.size))
			}
			svc := spawn(t, c, "", func(s *core.Service) error {
				s.Handle("n", note)
				s.Handle("call", func(p, i int) int { note(p, i); return i })
				s.OnStop(func() { close(stopped) })
				return nil
			}, opts...)
			accepted := make([][]int, producers)
			errs := make(chan error, producers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for p := range producers {
				wg.Go(func() {
					<-start
					errs <- produce(c, svc.ID(), p, perProducer, &accepted[p])
				})
			}
			close(start)
			select { // close in the middle of the stream
			case <-busy:
			case <-time.After(5 * time.Second):
				t.Fatal("producers stuck")
			}
			if err := c.Close(svc.ID(), tc.force); err != nil {
				t.Fatalf("closing: %v", err)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-stopped:
			case <-time.After(5 * time.Second):
				t.Fatal("service did not stop")
			}
			var nAcc, nHandled int
			for p := range producers {
				checkHandled(t, p, accepted[p], handled[p], !tc.force)
				nAcc, nHandled = nAcc+len(accepted[p]), nHandled+len(handled[p])
			}
			if nAcc == producers*perProducer {
				t.Fatal("no message refused: the close did not overlap the senders")
			}
			t.Logf("%d messages: %d accepted, %d handled", producers*perProducer, nAcc, nHandled)
		})
	}
}

// produce sends n messages from producer p, rotating through Send, SendWait
// and Call, and records the ones accepted. It fails only on an error the
// mailbox does not document or a Call that waited for its deadline.
func produce(c *core.Core, to core.ServiceID, p, n int, accepted *[]int) error {
	for i := range n {
		var err error
		switch i % 3 {
		case 0:
			err = c.Send(to, "n", p, i)
		case 1:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err = c.SendWait(ctx, to, "n", p, i)
			cancel()
		default:
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			var ret []any
			ret, err = c.Call(ctx, to, "call", p, i)
			cancel()
			if err == nil && (len(ret) != 1 || ret[0] != i) {
				return fmt.Errorf("producer %d: call %d answered %v", p, i, ret)
			}
		}
		switch {
		case err == nil:
			*accepted = append(*accepted, i)
		case errors.Is(err, core.ErrCallTimeout):
			return fmt.Errorf("producer %d: message %d waited for its deadline: %w", p, i, err)
		case errors.Is(err, core.ErrMailboxFull), errors.Is(err, core.ErrStopped), errors.Is(err, core.ErrServiceNotFound):
		default:
			return fmt.Errorf("producer %d: message %d: undocumented error %w", p, i, err)
		}
	}
	return nil
}

// checkHandled compares what producer p had accepted with what the service
// handled: in order, each at most once, nothing refused, and, when all
// must be, everything.
func checkHandled(t *testing.T, p int, accepted, handled []int, all bool) {
	t.Helper()
	ok := make(map[int]bool, len(accepted))
	for _, i := range accepted {
		ok[i] = true
	}
	last := -1
	for _, i := range handled {
		if !ok[i] {
			t.Fatalf("producer %d: message %d handled but not accepted (or twice)", p, i)
		}
		if i <= last {
			t.Fatalf("producer %d: message %d handled after %d", p, i, last)
		}
		delete(ok, i)
		last = i
	}
	if all && len(ok) > 0 {
		t.Fatalf("producer %d: %d accepted messages never handled after a graceful close", p, len(ok))
	}
}
