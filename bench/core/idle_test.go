package corebench

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIdleWake measures what a mostly idle service costs: 1000
// services each receive one message in turn (so each is woken from idle
// about every 1000 messages) and the CPU time the whole process burns per
// message is reported as cpu-ns/msg. A service that spins before parking
// pays its spin on every one of these wake-ups.
func BenchmarkIdleWake(b *testing.B) {
	const services = 1000
	c := newCore(b)
	done := make(chan struct{}, 1)
	ids := make([]core.ServiceID, services)
	for i := range ids {
		s, err := c.Spawn(context.Background(), "", func(s *core.Service) error {
			s.Handle("n", func(last bool) {
				if last {
					done <- struct{}{}
				}
			})
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = s.ID()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime(b)
	for i := range b.N {
		// Wait for each round to finish so that every service is idle again.
		last := i%services == services-1 || i == b.N-1
		if err := c.Send(ids[i%services], "n", last); err != nil {
			b.Fatal(err)
		}
		if last {
			<-done
		}
	}
	b.StopTimer()
	b.ReportMetric(float64((cpuTime(b)-start).Nanoseconds())/float64(b.N), "cpu-ns/msg")
}
