package core

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// maxCallDepth bounds the handlers of one service suspended in Call or
// Lookup at once (runaway mutual recursion between services).
const maxCallDepth = 64

// next returns the next message in order, refilling the local batch from
// the mailbox when it is used up. Messages are dispatched in place in the
// batch; a batch goes back to the mailbox for reuse only when no suspended
// handler still points into it. inCall keeps next parked (instead of
// reporting takeDrained) while a Call waits for its reply.
func (s *Service) next(done <-chan struct{}, inCall bool) (*envelope, takeStatus) {
	if s.mb.dead.Load() {
		return nil, takeKilled // a forced stop does not wait for the rest of the batch
	}
	if s.pos >= len(s.buf) {
		var spare []envelope
		if s.parked == 0 {
			spare = s.buf[:0]
		}
		batch, st := s.mb.take(spare, done, inCall)
		if st != takeOK {
			s.buf, s.pos = spare, 0
			return nil, st
		}
		s.buf, s.pos = batch, 0
	}
	m := &s.buf[s.pos]
	s.pos++
	return m, takeOK
}

// dispatch handles one message on strand st, which holds the baton.
func (s *Service) dispatch(st *strand, m *envelope) {
	prev := st.ctx.msg // an inline wait (Init, shutdown) nests dispatches
	st.ctx.msg = m
	defer func() {
		st.ctx.msg = prev
		*m = envelope{}
	}()
	switch m.kind {
	case KindSend, KindCall, KindRequest:
		s.handle(st, m)
	case KindReply:
		s.onReply(m)
	case kindTimeout:
		s.onTimeout(m.session)
	case kindWake:
		s.onWake(m.session)
	case kindTimer:
		s.onTimer(TimerID(m.session))
	case KindEvent:
		s.onEventMsg(m)
	case KindClose:
		s.mb.close()
	case kindStop:
		s.mb.hot = false // the close notice is what comes next: no spin for it
		s.runStopHooks()
		s.core.hookDone()
	default:
		s.log.V(1).Info("Unknown message kind dropped", "kind", m.kind)
	}
}

// handle runs the handler of m and answers it.
func (s *Service) handle(st *strand, m *envelope) {
	h := s.lastH
	if h == nil || m.cmd != s.lastCmd { // equal strings from one literal compare by pointer
		if h = s.handlers[m.cmd]; h != nil {
			s.lastCmd, s.lastH = m.cmd, h
		}
	}
	if h == nil {
		err := fmt.Errorf("%v has no handler for %q: %w", s.id, m.cmd, ErrUnknownCommand)
		if !m.expectsReply() {
			s.log.V(1).Info("Message dropped", "err", err.Error())
		}
		s.core.sendReply(s.id, m, nil, err)
		return
	}
	if dl := m.deadline(); !dl.IsZero() && m.expectsReply() && !time.Now().Before(dl) {
		// Its caller has given up: running it would be work nobody waits
		// for, and the caller must be able to tell that it did not run.
		s.core.sendReply(s.id, m, nil, fmt.Errorf("%q on %v: %w: not run", m.cmd, s.id, ErrDeadlineExceeded))
		return
	}
	ret, err := s.invoke(h, &st.ctx)
	// A raw handler that echoes its inline args returns a slice of m, which
	// is reused after dispatch: a local caller keeps the reply, so it gets a
	// copy; a remote one is encoded before sendReply returns.
	local := m.w != nil || m.from.Node() == s.core.node
	if local && len(ret) > 0 && (&ret[0] == &m.inline[0] || &ret[0] == &m.inline[1]) {
		ret = append([]any(nil), ret...)
	}
	if err != nil && !m.expectsReply() {
		s.log.V(1).Info("Handler failed", "cmd", m.cmd, "err", err.Error())
	}
	s.core.sendReply(s.id, m, ret, err)
}

// invoke calls h with panic isolation; c holds the message.
func (s *Service) invoke(h *handler, c *Context) (ret []any, err error) {
	m := c.msg
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handling %q on %v: %w: %v", m.cmd, s.id, ErrHandlerPanic, r)
			s.log.Error(err, "Handler panicked", "cmd", m.cmd, "stack", string(debug.Stack()))
			ret = nil
		}
	}()
	if m.nargs == typedArgs {
		if vs := m.inline[0].(*argValues); vs.h == h {
			defer vs.release()
			m.inline[0], m.nargs = nil, 0
			return h.callValues(c, vs)
		}
	}
	if x, ok := m.intArg(); ok && h.callInt != nil {
		return h.callInt(c, x)
	}
	return h.call(c, m.args())
}

// safely runs fn (a callback, timer or hook) with panic isolation.
func (s *Service) safely(what string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error(fmt.Errorf("%w: %v", ErrHandlerPanic, r), "Callback panicked", "what", what, "stack", string(debug.Stack()))
		}
	}()
	fn()
}

// onReply completes the Call or Request with m's session.
func (s *Service) onReply(m *envelope) {
	p := s.calls[m.session]
	if p == nil {
		return // late reply after a timeout
	}
	delete(s.calls, m.session)
	if p.timer != nil {
		p.timer.Stop()
	}
	ret, err := m.args(), m.replyErr()
	if len(ret) > 0 && (m.more == nil || m.more.args == nil) {
		ret = append([]any(nil), ret...) // inline storage is reused after dispatch
	}
	if p.cb == nil {
		p.done, p.ret, p.err = true, ret, err
		if st := p.st; st != nil {
			p.st = nil
			s.wake(st)
		}
		return
	}
	s.safely("request callback", func() { p.cb(ret, err) })
}

// onTimeout fails the Request with session sess if it is still pending.
func (s *Service) onTimeout(sess uint64) {
	p := s.calls[sess]
	if p == nil {
		return
	}
	delete(s.calls, sess)
	if p.remote {
		s.core.pending.take(sess)
	}
	err := fmt.Errorf("request %d of %v: %w", sess, s.id, ErrCallTimeout)
	s.safely("request callback", func() { p.cb(nil, err) })
}

func (s *Service) onEventMsg(m *envelope) {
	s.events.Add(-1)
	args := m.args()
	if s.onEvent == nil || len(args) != 1 {
		return
	}
	if ev, ok := args[0].(Event); ok {
		s.safely("event", func() { s.onEvent(ev) })
	}
}

// abandon forgets a pending Call and returns err.
func (s *Service) abandon(sess uint64, p *pendingCall, err error) error {
	delete(s.calls, sess)
	if p.remote {
		s.core.pending.take(sess)
	}
	return err
}

// closeBy applies a close notice routed to s.
func (s *Service) closeBy(m *Message, args []any) error {
	if len(args) == 1 {
		if force, ok := args[0].(bool); ok && force {
			s.mb.kill()
			return nil
		}
	}
	return s.mb.push(m, args, true)
}

// shutdown runs when the service loop ends: fail what can no longer be
// answered, run stop hooks, release the name.
func (s *Service) shutdown(st *strand, killed bool) {
	c := s.core
	s.ending = true
	if killed {
		s.failQueued(s.buf[s.pos:])
		s.buf, s.pos = nil, 0
	}
	s.resumeAll()
	s.cur = st
	s.failPending()
	s.runStopHooks()
	s.failPending() // timers and requests a stop hook may have started
	if s.onEvent != nil {
		c.unsubscribe(s)
	}
	c.table.remove(s.id)
	s.failQueued(s.mb.finish())
	if s.name != "" {
		ctx, cancel := context.WithTimeout(context.Background(), c.regTO)
		c.releaseName(ctx, s.name, s.id)
		cancel()
	}
}

// runStopHooks runs the stop hooks, last added first, once.
func (s *Service) runStopHooks() {
	hooks := s.onStop
	s.onStop = nil
	for i := len(hooks) - 1; i >= 0; i-- {
		s.safely("stop hook", hooks[i])
	}
}

// failPending cancels the timers and fails the pending Requests of a
// stopping service: each callback runs once, with ErrStopped.
func (s *Service) failPending() {
	s.stopTimers()
	for sess, p := range s.calls {
		delete(s.calls, sess)
		if p.remote {
			s.core.pending.take(sess)
		}
		if p.timer != nil {
			p.timer.Stop()
		}
		if p.cb != nil {
			err := fmt.Errorf("request %d of %v: %w", sess, s.id, ErrStopped)
			s.safely("request callback", func() { p.cb(nil, err) })
		}
	}
}

// failQueued answers queued messages that expect a reply with ErrStopped.
func (s *Service) failQueued(ms []envelope) {
	for i := range ms {
		m := &ms[i]
		if m.kind == kindStop {
			s.core.hookDone() // killed before its hooks could run
			continue
		}
		if m.kind == KindSend || m.kind == KindCall || m.kind == KindRequest {
			if m.expectsReply() {
				s.core.sendReply(s.id, m, nil, fmt.Errorf("%q to %v: %w", m.cmd, s.id, ErrStopped))
			} else {
				s.log.V(1).Info("Message dropped at forced stop", "cmd", m.cmd)
			}
		}
	}
}
