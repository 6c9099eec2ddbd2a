package backends

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/node"
)

// BenchmarkLookupUnderUpdates: global name lookups on a slave, from every
// core, while the other node registers and releases names without pause,
// so the slave's View applies a change every few microseconds (master: the
// master's pushes; etcd: the watch). Lookups are served from the local
// View in both modes; this measures what the updates cost them (a lock
// shared with the updates, or none). The updates the slave applied are
// reported as updates/s.
func BenchmarkLookupUnderUpdates(b *testing.B) {
	for _, d := range discoveries {
		b.Run(d.name, func(b *testing.B) {
			s := newSetup(b, d.etcd, false)
			m, slave := s.pair(b)
			echo, err := node.StartEcho(context.Background(), m.core, "m")
			if err != nil {
				b.Fatal(err)
			}
			lookup(b, slave.core, contract.EchoName("m"))
			var stop atomic.Bool
			var updates atomic.Int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { // joined below
				defer wg.Done()
				ctx := context.Background()
				for i := 0; !stop.Load(); i++ {
					name := fmt.Sprintf("churn-%d", i%64)
					if err := m.cl.Register(ctx, name, echo.ID()); err != nil {
						b.Error(err)
						return
					}
					if err := m.cl.Unregister(ctx, name, echo.ID()); err != nil {
						b.Error(err)
						return
					}
					updates.Add(2)
				}
			}()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			start, before := time.Now(), updates.Load()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := slave.core.Lookup(ctx, "echo:m"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(updates.Load()-before)/time.Since(start).Seconds(), "updates/s")
			stop.Store(true)
			wg.Wait()
		})
	}
}
