package core

import (
	"context"
	"fmt"
	"time"
)

// Suspending handlers: the baton.
//
// A service is single-threaded for its state, but a handler that blocks in
// Call or Lookup must not stop the service from serving (A→B→A would
// deadlock) and must not sit under other handlers on one stack (they would
// return last in, first out and share one deadline). So each service has a
// baton: only the strand (goroutine) holding it may run the service's code.
// The loop strand takes messages and dispatches them inline; a handler that
// blocks hands the baton to a fresh loop strand and parks. When its reply
// (or its deadline) arrives, the loop hands the baton back to the parked
// strand and waits until that strand returns it: the handler finished, or
// blocked again. Handlers that never block run inline on the loop strand
// and cost nothing extra.

// strand is a goroutine that runs handlers of one service.
type strand struct {
	ctx      Context       // the Context of the handler the strand runs
	resume   chan struct{} // capacity 1: the baton, handed to this parked strand
	detached bool          // resumed by a loop that waits on Service.back: hand it back when done
}

func (s *Service) newStrand() *strand {
	return &strand{ctx: Context{Service: s}, resume: make(chan struct{}, 1)}
}

// run is the first loop strand of the service.
func (s *Service) run() {
	st := s.newStrand()
	s.cur = st
	s.strands = true
	s.loop(st)
}

// loop takes and dispatches messages on strand st until the service ends
// or st, resumed out of a Call, has finished its handler (the loop that
// resumed it goes on).
func (s *Service) loop(st *strand) {
	defer s.core.wg.Done()
	for {
		m, status := s.next(nil, s.parked > 0)
		if status != takeOK {
			s.shutdown(st, status == takeKilled)
			return
		}
		s.dispatch(st, m)
		if st.detached {
			if s.spare != nil || s.ending {
				s.back <- struct{}{}
				return
			}
			// Keep this goroutine as the next loop strand: the next
			// handler that blocks resumes it instead of starting one.
			st.detached = false
			s.spare = st
			s.back <- struct{}{}
			<-st.resume
			if s.ending {
				return // released at shutdown
			}
		}
	}
}

// park hands the baton on (to the loop that resumed st, or to a new loop
// strand) and blocks st until a loop resumes it.
func (s *Service) park(st *strand) {
	s.parked++
	switch {
	case st.detached:
		s.back <- struct{}{}
	case s.spare != nil:
		next := s.spare
		s.spare = nil
		s.cur = next
		next.resume <- struct{}{}
	default:
		next := s.newStrand()
		s.cur = next
		s.core.wg.Add(1) // st is counted, so the group is not at zero
		go s.loop(next)
	}
	<-st.resume
	st.detached = true
}

// wake hands the baton to the parked strand st and waits until st returns
// it (its handler finished or blocked again).
func (s *Service) wake(st *strand) {
	s.parked--
	me := s.cur
	s.cur = st
	st.resume <- struct{}{}
	<-s.back
	s.cur = me
}

// onWake resumes the strand parked on session sess, whose ctx ended.
func (s *Service) onWake(sess uint64) {
	p := s.calls[sess]
	if p == nil || p.cb != nil || p.st == nil {
		return
	}
	st := p.st
	p.st = nil
	s.wake(st)
}

// resumeAll resumes every parked strand at shutdown: their Calls fail with
// ErrStopped. A spare loop strand exits.
func (s *Service) resumeAll() {
	if sp := s.spare; sp != nil {
		s.spare = nil
		sp.resume <- struct{}{}
	}
	var parked []*strand
	for _, p := range s.calls {
		if p.cb == nil && p.st != nil {
			parked = append(parked, p.st)
			p.st = nil
		}
	}
	for _, st := range parked {
		s.wake(st)
	}
}

// inherited returns the deadline of the message the running handler
// handles (the budget its caller gave it), or zero.
func (s *Service) inherited() time.Time {
	if s.cur == nil || s.cur.ctx.msg == nil {
		return time.Time{}
	}
	return s.cur.ctx.msg.deadline()
}

// callCtx bounds ctx by the running handler's own deadline (a nested Call
// never outlives the Call that runs it) or, without any deadline, by
// Options.CallTimeout. cancel is nil when ctx is returned as it was.
func (s *Service) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if inh := s.inherited(); !inh.IsZero() && (!ok || inh.Before(d)) {
		return context.WithDeadline(ctx, inh)
	}
	if !ok && s.core.callTO > 0 {
		return context.WithTimeout(ctx, s.core.callTO)
	}
	return ctx, nil
}

// waitCall waits for the reply to session sess (p), ctx or the end of the
// service. On a running service the handler parks and the service goes on
// serving on another strand; during Init or shutdown it dispatches inline.
func (s *Service) waitCall(ctx context.Context, sess uint64, p *pendingCall, m *Message) ([]any, error) {
	if !s.strands || s.ending {
		return s.waitInline(ctx, sess, p, m)
	}
	st := s.cur
	p.st = st
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() {
			w := Message{Kind: kindWake, To: s.id, Session: sess}
			_ = s.mb.push(&w, nil, true) // a dead service resumes its strands itself
		})
	}
	s.park(st)
	if stop != nil {
		stop()
	}
	if p.done {
		return p.ret, p.err
	}
	if s.ending {
		return nil, s.abandon(sess, p, fmt.Errorf("calling %q on %v: %w", m.Cmd, m.To, ErrStopped))
	}
	return nil, s.abandon(sess, p, fmt.Errorf("calling %q on %v: %w (%w)", m.Cmd, m.To, ErrCallTimeout, context.Cause(ctx)))
}

// waitInline dispatches this service's other messages on the calling
// goroutine until the reply to session sess arrives, ctx ends, or the
// service is killed: a Call made by Init (the service has no strand yet) or
// by a stop hook at shutdown.
func (s *Service) waitInline(ctx context.Context, sess uint64, p *pendingCall, m *Message) ([]any, error) {
	st := s.cur
	if st == nil {
		st = s.newStrand()
		s.cur = st
		defer func() { s.cur = nil }()
	}
	done := ctx.Done()
	for !p.done {
		if done != nil {
			select {
			case <-done:
				return nil, s.abandon(sess, p, fmt.Errorf("calling %q on %v: %w (%w)", m.Cmd, m.To, ErrCallTimeout, ctx.Err()))
			default:
			}
		}
		s.parked++ // the batch holds the envelope of the waiting handler
		next, status := s.next(done, true)
		s.parked--
		switch status {
		case takeOK:
			s.dispatch(st, next)
		case takeDone:
			return nil, s.abandon(sess, p, fmt.Errorf("calling %q on %v: %w (%w)", m.Cmd, m.To, ErrCallTimeout, ctx.Err()))
		default:
			return nil, s.abandon(sess, p, fmt.Errorf("calling %q on %v: %w", m.Cmd, m.To, ErrStopped))
		}
	}
	return p.ret, p.err
}

// lookupWait looks name up in reg on a goroutine of its own while the
// handler is suspended as in a Call: the service goes on serving while a
// name that is not known yet is waited for.
func (s *Service) lookupWait(ctx context.Context, reg Registry, name string) (ServiceID, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sess := s.core.session.Add(1)
	p := &pendingCall{}
	s.calls[sess] = p
	s.core.wg.Add(1)
	go func() {
		defer s.core.wg.Done()
		id, err := reg.Lookup(ctx, name)
		r := Message{Kind: KindReply, To: s.id, Session: sess, err: err}
		if err == nil {
			_ = s.mb.push(&r, []any{id}, true)
		} else {
			_ = s.mb.push(&r, nil, true) // a dead service no longer waits
		}
	}()
	ret, err := s.waitCall(ctx, sess, p, &Message{Cmd: "lookup " + name, To: s.id})
	if err != nil {
		return 0, fmt.Errorf("looking up %q: %w", name, err)
	}
	if len(ret) == 1 {
		if id, ok := ret[0].(ServiceID); ok {
			return id, nil
		}
	}
	return 0, fmt.Errorf("looking up %q: %w", name, ErrServiceNotFound)
}
