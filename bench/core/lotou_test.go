package corebench

import (
	"context"
	"sync"
	"testing"

	"github.com/lotou-io/lotou/runtime/core"
)

// lotouReceiver starts a service counting "n" messages; done is closed at
// want messages.
func lotouReceiver(b *testing.B, c *core.Core, want int, done chan struct{}) core.ServiceID {
	b.Helper()
	count := 0
	s, err := c.Spawn(context.Background(), "", func(s *core.Service) error {
		s.Handle("n", func(int) {
			count++
			if count == want {
				close(done)
			}
		})
		s.Handle("echo", func(x int) int { return x })
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s.ID()
}

func newCore(b *testing.B) *core.Core {
	b.Helper()
	c, err := core.New(core.Options{Node: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			b.Error(err)
		}
	})
	return c
}

func benchLotouSend(b *testing.B, pairs int, unboxed bool) {
	c := newCore(b)
	per := max(b.N/pairs, 1)
	ids := make([]core.ServiceID, pairs)
	dones := make([]chan struct{}, pairs)
	for p := range pairs {
		dones[p] = make(chan struct{})
		ids[p] = lotouReceiver(b, c, per, dones[p])
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range pairs {
		wg.Go(func() {
			for i := range per {
				var err error
				if unboxed {
					err = c.SendWaitInt(ctx, ids[p], "n", i)
				} else {
					err = c.SendWait(ctx, ids[p], "n", i)
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
			<-dones[p]
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(per*pairs)/b.Elapsed().Seconds(), "msgs/s")
}

func benchLotouCall(b *testing.B, pairs int) {
	c := newCore(b)
	per := max(b.N/pairs, 1)
	ids := make([]core.ServiceID, pairs)
	for p := range pairs {
		ids[p] = lotouReceiver(b, c, -1, nil)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range pairs {
		wg.Go(func() {
			for i := range per {
				ret, err := c.Call(ctx, ids[p], "echo", i)
				if err != nil || ret[0].(int) != i {
					b.Errorf("call %d: %v %v", i, ret, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(per*pairs)/b.Elapsed().Seconds(), "calls/s")
}

// BenchmarkLocalSend: one external sender -> one service, one-way.
func BenchmarkLocalSend(b *testing.B) { benchLotouSend(b, 1, false) }

// BenchmarkLocalSend4Pairs: four sender/service pairs in parallel.
func BenchmarkLocalSend4Pairs(b *testing.B) { benchLotouSend(b, 4, false) }

// BenchmarkLocalSendInt: BenchmarkLocalSend with SendWaitInt, the int
// never boxed (the handler takes an int).
func BenchmarkLocalSendInt(b *testing.B) { benchLotouSend(b, 1, true) }

// BenchmarkLocalSendInt4Pairs: four pairs with SendWaitInt.
func BenchmarkLocalSendInt4Pairs(b *testing.B) { benchLotouSend(b, 4, true) }

// BenchmarkLocalCall: sequential blocking call round trip.
func BenchmarkLocalCall(b *testing.B) { benchLotouCall(b, 1) }

// BenchmarkLocalCall4Pairs: four callers, each to its own service.
func BenchmarkLocalCall4Pairs(b *testing.B) { benchLotouCall(b, 4) }
