package core

import (
	"sync"
	"testing"
)

// TestMailboxOrderUnderForcedTraffic drives the mailbox directly: many
// producers, some of their messages forced past the bound (as replies and
// timers are), while the consumer drains batch after batch. Each
// producer's messages must come out exactly once and in order, and nothing
// accepted may be lost. (It also guarded a lock-free ring with an overflow
// list that was measured and not kept; see docs/benchmarks.md.)
func TestMailboxOrderUnderForcedTraffic(t *testing.T) {
	for _, tc := range []struct {
		name            string
		size, producers int
		perProducer     int
	}{
		{"bound 4", 4, 8, 3000},
		{"bound 1024", 1024, 8, 3000},
		{"one producer", 1024, 1, 20000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mb mailbox
			mb.init(tc.size, 1)
			accepted := make([]int, tc.producers)
			var wg sync.WaitGroup
			for p := range tc.producers {
				wg.Go(func() {
					for i := range tc.perProducer {
						force := i%4 == 0
						err := mb.put(KindSend, ServiceID(p), uint64(i), "n", nil, nil, nil, force)
						switch err {
						case nil:
							accepted[p]++
						case ErrMailboxFull:
						default:
							t.Errorf("producer %d: %v", p, err)
							return
						}
					}
				})
			}
			last := make([]int64, tc.producers)
			for i := range last {
				last[i] = -1
			}
			got := make([]int, tc.producers)
			consumed := make(chan struct{})
			var batch []envelope
			go func() {
				defer close(consumed)
				for {
					var st takeStatus
					batch, st = mb.take(batch[:0], nil, false)
					if st != takeOK {
						return
					}
					for i := range batch {
						e := &batch[i]
						p := int(e.from)
						if int64(e.session) <= last[p] {
							t.Errorf("producer %d: message %d after %d", p, e.session, last[p])
						}
						last[p] = int64(e.session)
						got[p]++
						batch[i] = envelope{}
					}
				}
			}()
			wg.Wait()
			mb.close()
			<-consumed
			if rest := mb.finish(); len(rest) != 0 {
				t.Errorf("%d messages left after the consumer drained", len(rest))
			}
			for p := range tc.producers {
				if got[p] != accepted[p] {
					t.Errorf("producer %d: %d accepted, %d taken", p, accepted[p], got[p])
				}
			}
		})
	}
}
