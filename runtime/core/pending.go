package core

import (
	"fmt"
	"runtime"
	"sync"
	"time"
)

// waiter is what a goroutine outside any service blocks on in Core.Call.
type waiter struct {
	ch  chan struct{} // capacity 1
	ret []any
	err error
}

var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan struct{}, 1)} }}

func getWaiter() *waiter { return waiterPool.Get().(*waiter) }

func putWaiter(w *waiter) {
	w.ret, w.err = nil, nil
	waiterPool.Put(w)
}

// spin waits a moment for a fast reply before the caller parks, yielding
// so that the service (often woken on this P) can run; it reports whether
// the reply came.
func (w *waiter) spin() bool {
	for range callSpins {
		runtime.Gosched()
		select {
		case <-w.ch:
			return true
		default:
		}
	}
	return false
}

// callSpins is how many times Core.Call yields before parking.
const callSpins = 4

// complete hands the reply to the blocked caller.
func (w *waiter) complete(ret []any, err error) {
	w.ret, w.err = ret, err
	w.ch <- struct{}{}
}

// pendingCall is a Call or Request of a service waiting for its reply; it
// lives in Service.calls and is only touched by the service goroutine.
type pendingCall struct {
	cb     func([]any, error) // Request callback; nil for a Call
	timer  *time.Timer        // Request deadline
	remote bool
	done   bool    // Call: the reply has arrived
	st     *strand // Call: the strand parked on it, until resumed
	ret    []any
	err    error
}

// pendingEntry is a session whose reply must come from another node.
type pendingEntry struct {
	node NodeID
	w    *waiter  // Core.Call from outside services
	svc  *Service // Call or Request of a service
}

// pendingRemote tracks sessions awaiting a reply from another node, so that
// FailNode can fail them at once and a late reply is dropped exactly once.
type pendingRemote struct {
	mu sync.Mutex
	m  map[uint64]pendingEntry
}

func (p *pendingRemote) init() { p.m = make(map[uint64]pendingEntry) }

func (p *pendingRemote) add(sess uint64, e pendingEntry) {
	p.mu.Lock()
	p.m[sess] = e
	p.mu.Unlock()
}

func (p *pendingRemote) take(sess uint64) (pendingEntry, bool) {
	p.mu.Lock()
	e, ok := p.m[sess]
	if ok {
		delete(p.m, sess)
	}
	p.mu.Unlock()
	return e, ok
}

// takeFrom removes and returns the entry for sess if its reply is expected
// from node; foreign reports an entry that waits on another node (it stays).
func (p *pendingRemote) takeFrom(sess uint64, node NodeID) (e pendingEntry, ok, foreign bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok = p.m[sess]
	if !ok {
		return e, false, false
	}
	if e.node != node {
		return pendingEntry{}, false, true
	}
	delete(p.m, sess)
	return e, true, false
}

// takeNode removes and returns every session waiting on node.
func (p *pendingRemote) takeNode(node NodeID) map[uint64]pendingEntry {
	out := make(map[uint64]pendingEntry)
	p.mu.Lock()
	for sess, e := range p.m {
		if e.node == node {
			out[sess] = e
			delete(p.m, sess)
		}
	}
	p.mu.Unlock()
	return out
}

// FailNode completes every Call and Request waiting on a reply from node
// with an error wrapping ErrNodeDown (and err, if not nil). The cluster calls
// it when it loses a node.
func (c *Core) FailNode(node NodeID, err error) {
	var e error
	if err != nil {
		e = fmt.Errorf("node %d: %w: %w", node, ErrNodeDown, err)
	} else {
		e = fmt.Errorf("node %d: %w", node, ErrNodeDown)
	}
	for sess, pe := range c.pending.takeNode(node) {
		c.completeEntry(sess, pe, nil, e)
	}
}

// completeEntry hands a remote reply (or failure) to whoever waits.
func (c *Core) completeEntry(sess uint64, pe pendingEntry, ret []any, err error) {
	if pe.w != nil {
		pe.w.complete(ret, err)
		return
	}
	r := Message{Kind: KindReply, To: pe.svc.id, Session: sess, err: err}
	if perr := pe.svc.mb.push(&r, ret, true); perr != nil {
		c.log.V(1).Info("Reply dropped", "to", pe.svc.id, "err", perr)
	}
}
