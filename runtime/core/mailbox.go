package core

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// An idle consumer spins (spinChecks looks at the queue, yielding every
// spinYield) before parking only while the service is hot: its last wait
// for work was shorter than spinWindow. A steady stream (ping-pong, a
// producer a little slower than the consumer) then saves the producer a
// wake-up, while a mostly idle service, woken now and then by a timer or a
// rare message, parks at once and costs no CPU between messages. The
// window bounds the waste: a service spins at most one spin (a few µs)
// per message, and only when messages come at least every spinWindow. A
// service woken by a message from another node does not spin.
const (
	spinChecks = 1000
	spinYield  = 100
	spinWindow = 50 * time.Microsecond
)

// Mailbox states.
const (
	mbOpen    uint8 = iota // accepts everything
	mbClosing              // refuses new user messages; internal traffic still accepted
	mbDead                 // refuses everything
)

// mailbox is a bounded multi-producer single-consumer queue. Producers
// append under a mutex; the consumer swaps the whole queue out at once
// (batch draining) and parks on wake when it is empty.
//
// The fields are grouped by who writes them, each group padded off the
// other: what a push touches (the locked fields and the spin hint, which
// a producer sets after unlocking, only while the consumer spins) and
// what the consumer reads or writes per message. Without the padding the
// consumer's per-message reads of its Service (id, core) and of its own
// fields shared lines with the lock, and every push had to win them back.
type mailbox struct {
	_ cacheLinePad
	// Under mu, except the hint flags, which producers touch right after
	// the lock: one cache line moves per push.
	mu       sync.Mutex
	pushed   atomic.Bool // set (once per batch) while the consumer spins; cleared when it takes
	spinning atomic.Bool // the consumer spins on pushed: only then do producers set it
	state    uint8
	killed   bool
	waiting  bool        // the consumer is parked on wake
	farWake  atomic.Bool // the last wake-up was a message from another node
	node     NodeID      // this node: messages from others came over the network
	q        []envelope
	size     int
	wake     chan struct{} // capacity 1
	space    chan struct{} // closed when room appears; nil if no sender waits
	_        cacheLinePad
	// Consumer-owned, or read by the consumer per message.
	dead  atomic.Bool // killed, readable without mu
	hot   bool        // spin before parking (see spinWindow)
	spins uint64      // spins started (tests check idle cost)
}

// cacheLinePad keeps the mailbox's field groups off each other's cache
// lines (and off the Service fields around the mailbox).
type cacheLinePad [64]byte

func (mb *mailbox) init(size int, node NodeID) {
	mb.size = size
	mb.node = node
	// No queue is allocated before the first message: a service that is
	// never sent anything (an idle client's agent) costs no envelopes, and a
	// busy one grows its queue to what its bursts need (append doubles).
	mb.wake = make(chan struct{}, 1)
}

// push appends a copy of *m with arguments args (m.Args is ignored). force
// is for internal traffic (replies, timers, events, close notices): it skips
// the capacity check and is accepted while closing. Up to two arguments are
// stored inline and args never escapes, so a variadic Send allocates no
// argument slice.
func (mb *mailbox) push(m *Message, args []any, force bool) error {
	var more *extra
	if m.Err != "" || m.err != nil || !m.Deadline.IsZero() {
		more = &extra{errText: m.Err, code: m.Code, err: m.err, deadline: m.Deadline}
	}
	var err error
	if m.typed != nil {
		err = mb.putArgs(m.Kind, m.From, m.Session, m.Cmd, []any{m.typed}, m.w, more, force, typedArgs)
		if err != nil {
			m.typed.release()
		}
		m.typed = nil
	} else {
		err = mb.put(m.Kind, m.From, m.Session, m.Cmd, args, m.w, more, force)
	}
	if err != nil {
		return fmt.Errorf("delivering %q to %v: %w", m.Cmd, m.To, err)
	}
	return nil
}

// put appends one envelope, writing its fields in place (slots past len are
// always zero: dispatch clears each slot it has handled). It returns a bare
// ErrStopped or ErrMailboxFull.
func (mb *mailbox) put(kind Kind, from ServiceID, session uint64, cmd string, args []any, w *waiter, more *extra, force bool) error {
	return mb.putArgs(kind, from, session, cmd, args, w, more, force, 0)
}

// putInt appends a one-way message whose only argument, n, stays unboxed.
func (mb *mailbox) putInt(from ServiceID, cmd string, n int) error {
	return mb.putArgs(KindSend, from, uint64(int64(n)), cmd, nil, nil, nil, false, intArg)
}

// putArgs is put; nargs, if not 0, overrides the argument count (intArg).
func (mb *mailbox) putArgs(kind Kind, from ServiceID, session uint64, cmd string, args []any, w *waiter, more *extra, force bool, nargs uint8) error {
	if len(args) > len(envelope{}.inline) {
		if more == nil {
			more = &extra{}
		}
		more.args = append([]any(nil), args...)
	}
	mb.mu.Lock()
	if mb.state != mbOpen && (!force || mb.state == mbDead) {
		mb.mu.Unlock()
		return ErrStopped
	}
	n := len(mb.q)
	if !force && n >= mb.size {
		mb.mu.Unlock()
		return ErrMailboxFull
	}
	if n < cap(mb.q) {
		mb.q = mb.q[:n+1]
	} else {
		mb.q = append(mb.q, envelope{})
	}
	e := &mb.q[n]
	e.kind, e.from, e.session, e.cmd, e.w, e.more = kind, from, session, cmd, w, more
	switch len(args) { // element by element: copy would be a typedslicecopy call
	case 1:
		e.inline[0], e.nargs = args[0], 1
	case 2:
		e.inline[0], e.inline[1], e.nargs = args[0], args[1], 2
	}
	if nargs != 0 {
		e.nargs = nargs
	}
	wake := mb.waiting
	if wake {
		mb.waiting = false
		mb.farWake.Store(from != 0 && from.Node() != mb.node)
	}
	mb.mu.Unlock()
	// The hint is set outside the lock: a consumer spinning on it takes
	// the lock at once, and would find it still held.
	if mb.spinning.Load() && !mb.pushed.Load() {
		mb.pushed.Store(true)
	}
	if wake {
		select {
		case mb.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// sendWait puts a one-way message with try (put or putInt), waiting for
// room until ctx ends. It returns a bare ErrStopped or ErrMailboxFull.
func (mb *mailbox) sendWait(ctx context.Context, try func() error) error {
	if err := try(); err == nil || !errors.Is(err, ErrMailboxFull) {
		return err
	}
	for {
		mb.mu.Lock()
		if mb.state == mbOpen && len(mb.q) >= mb.size {
			if mb.space == nil {
				mb.space = make(chan struct{})
			}
			ch := mb.space
			mb.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return fmt.Errorf("%w (%w)", ErrMailboxFull, ctx.Err())
			}
		}
		mb.mu.Unlock()
		return try()
	}
}

// takeStatus says why take returned without messages.
type takeStatus uint8

const (
	takeOK      takeStatus = iota // messages returned
	takeDone                      // the done channel fired
	takeDrained                   // closing and empty
	takeKilled                    // forced stop
)

// take swaps the queue with spare (which must be empty) and returns the
// batch. With an empty queue it parks until a push, done, or a state
// change; a closing, empty mailbox reports takeDrained unless inCall (a Call
// still waits for its reply, which internal traffic may bring).
func (mb *mailbox) take(spare []envelope, done <-chan struct{}, inCall bool) ([]envelope, takeStatus) {
	for {
		mb.mu.Lock()
		if mb.killed {
			mb.mu.Unlock()
			return nil, takeKilled
		}
		if mb.pushed.Load() {
			mb.pushed.Store(false)
		}
		if len(mb.q) > 0 {
			batch := mb.q
			mb.q = spare
			if mb.space != nil {
				close(mb.space)
				mb.space = nil
			}
			mb.mu.Unlock()
			return batch, takeOK
		}
		if mb.state != mbOpen && !inCall {
			mb.mu.Unlock()
			return nil, takeDrained
		}
		mb.mu.Unlock()
		if mb.hot && mb.spin() {
			continue
		}
		if !mb.park(done, inCall) {
			return nil, takeDone
		}
	}
}

// park blocks the consumer until a push or a state change (true) or until
// done fires (false), and learns from how long it slept whether the next
// idle moment is worth a spin.
func (mb *mailbox) park(done <-chan struct{}, inCall bool) bool {
	mb.mu.Lock()
	if len(mb.q) > 0 || mb.killed || (mb.state != mbOpen && !inCall) {
		mb.mu.Unlock()
		return true
	}
	mb.waiting = true
	mb.mu.Unlock()
	start := time.Now()
	select {
	case <-mb.wake:
		// The next message from another node is a network round trip
		// away: spinning for it would only take the CPU from the
		// connection readers that bring it.
		mb.hot = time.Since(start) < spinWindow && !mb.farWake.Load()
		return true
	case <-done:
		mb.mu.Lock()
		mb.waiting = false
		mb.mu.Unlock()
		mb.hot = false
		return false
	}
}

// spin looks for new messages for a short while; it reports whether some
// arrived.
func (mb *mailbox) spin() bool {
	mb.spins++
	mb.spinning.Store(true)
	defer mb.spinning.Store(false)
	for i := range spinChecks {
		if mb.pushed.Load() {
			return true
		}
		if i%spinYield == spinYield-1 {
			runtime.Gosched() // let a goroutine we just woke run on this P
		}
	}
	return false
}

// close refuses new user messages; the consumer drains and stops.
func (mb *mailbox) close() {
	mb.mu.Lock()
	if mb.state == mbOpen {
		mb.state = mbClosing
	}
	mb.signalLocked()
	mb.mu.Unlock()
}

// kill refuses everything and makes the consumer stop after its current
// message.
func (mb *mailbox) kill() {
	mb.mu.Lock()
	mb.killed = true
	mb.dead.Store(true)
	mb.state = mbDead
	mb.signalLocked()
	mb.mu.Unlock()
}

// finish marks the mailbox dead and returns what is left in it.
func (mb *mailbox) finish() []envelope {
	mb.mu.Lock()
	mb.state = mbDead
	rest := mb.q
	mb.q = nil
	mb.signalLocked()
	mb.mu.Unlock()
	return rest
}

// signalLocked wakes the consumer and any waiting senders; mu is held.
func (mb *mailbox) signalLocked() {
	if mb.waiting {
		mb.waiting = false
		select {
		case mb.wake <- struct{}{}:
		default:
		}
	}
	if mb.space != nil {
		close(mb.space)
		mb.space = nil
	}
}

// queued returns how many messages wait (not counting a batch already taken).
func (mb *mailbox) queued() int {
	mb.mu.Lock()
	defer mb.mu.Unlock()
	return len(mb.q)
}
