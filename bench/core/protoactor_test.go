package corebench

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

func newSystem(b *testing.B) *actor.ActorSystem {
	b.Helper()
	quiet := func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
	sys := actor.NewActorSystemWithConfig(actor.Configure(actor.WithLoggerFactory(quiet)))
	b.Cleanup(sys.Shutdown)
	return sys
}

// protoReceiver counts int messages (closing done at want) and echoes
// requests.
func protoReceiver(sys *actor.ActorSystem, want int, done chan struct{}) *actor.PID {
	count := 0
	props := actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case int:
			if ctx.Sender() != nil {
				ctx.Respond(m)
				return
			}
			count++
			if count == want {
				close(done)
			}
		}
	})
	return sys.Root.Spawn(props)
}

func benchProtoSend(b *testing.B, pairs int) {
	sys := newSystem(b)
	per := max(b.N/pairs, 1)
	pids := make([]*actor.PID, pairs)
	dones := make([]chan struct{}, pairs)
	for p := range pairs {
		dones[p] = make(chan struct{})
		pids[p] = protoReceiver(sys, per, dones[p])
	}
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range pairs {
		wg.Go(func() {
			for i := range per {
				sys.Root.Send(pids[p], i)
			}
			<-dones[p]
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(per*pairs)/b.Elapsed().Seconds(), "msgs/s")
	for _, pid := range pids {
		sys.Root.Stop(pid)
	}
}

func benchProtoCall(b *testing.B, pairs int) {
	sys := newSystem(b)
	per := max(b.N/pairs, 1)
	pids := make([]*actor.PID, pairs)
	for p := range pairs {
		pids[p] = protoReceiver(sys, -1, nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for p := range pairs {
		wg.Go(func() {
			for i := range per {
				r, err := sys.Root.RequestFuture(pids[p], i, 30*time.Second).Result()
				if err != nil || r.(int) != i {
					b.Errorf("request %d: %v %v", i, r, err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(per*pairs)/b.Elapsed().Seconds(), "calls/s")
	for _, pid := range pids {
		sys.Root.Stop(pid)
	}
}

// BenchmarkProtoactorLocalSend: the BenchmarkLocalSend workload on protoactor-go.
func BenchmarkProtoactorLocalSend(b *testing.B) { benchProtoSend(b, 1) }

// BenchmarkProtoactorLocalSend4Pairs: four pairs in parallel.
func BenchmarkProtoactorLocalSend4Pairs(b *testing.B) { benchProtoSend(b, 4) }

// BenchmarkProtoactorLocalCall: RequestFuture round trip.
func BenchmarkProtoactorLocalCall(b *testing.B) { benchProtoCall(b, 1) }

// BenchmarkProtoactorLocalCall4Pairs: four callers in parallel.
func BenchmarkProtoactorLocalCall4Pairs(b *testing.B) { benchProtoCall(b, 4) }
