package cluster

import "sync/atomic"

// flow is the credit window of the one-way benchmarks: the sender keeps at
// most window messages in flight and, when the window is full, blocks until
// the receiver has consumed a slice of it. Blocking (rather than spinning on
// runtime.Gosched) leaves the CPU to the receiving side, which matters on a
// machine with few cores; both one-way benchmarks use it, so they stay
// comparable.
type flow struct {
	got    atomic.Int64
	target atomic.Int64
	wake   chan struct{} // a slice of the window was consumed
	done   chan struct{} // target messages received
}

// wakeEvery is how many received messages refill the sender's credit.
const wakeEvery = window / 8

func newFlow() *flow {
	return &flow{wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// expect arms the flow for n messages and resets the count.
func (f *flow) expect(n int) {
	f.got.Store(0)
	f.target.Store(int64(n))
}

// hit is called by the receiver for every message.
func (f *flow) hit() {
	n := f.got.Add(1)
	if n%wakeEvery == 0 {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
	if n == f.target.Load() {
		close(f.done)
	}
}

// before blocks the sender of message i while the window is full. A full
// window means the receiver still has wakeEvery messages or more to take,
// so a wake-up is on its way.
func (f *flow) before(i int) {
	for int64(i)-f.got.Load() >= window {
		<-f.wake
	}
}

// wait blocks until every expected message arrived.
func (f *flow) wait() { <-f.done }
