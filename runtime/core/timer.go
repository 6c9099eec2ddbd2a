package core

import "time"

// TimerID names a timer of one service, for Cancel.
type TimerID uint64

type timerEntry struct {
	t     *time.Timer
	fn    func()
	every time.Duration
}

// After runs fn once on the service goroutine after d. The timer is
// cancelled when the service stops.
func (s *Service) After(d time.Duration, fn func()) TimerID {
	return s.addTimer(d, 0, fn)
}

// Every runs fn on the service goroutine every d (measured from the end of
// the previous run) until Cancel or the service stops.
func (s *Service) Every(d time.Duration, fn func()) TimerID {
	return s.addTimer(d, d, fn)
}

// Cancel stops a timer; it reports whether the timer was still active. A
// cancelled timer never runs again, even if its tick is already queued.
func (s *Service) Cancel(id TimerID) bool {
	e, ok := s.timers[id]
	if !ok {
		return false
	}
	delete(s.timers, id)
	e.t.Stop()
	return true
}

// Timers returns the number of active timers of the service.
func (s *Service) Timers() int { return len(s.timers) }

func (s *Service) addTimer(d, every time.Duration, fn func()) TimerID {
	s.timerSeq++
	id := TimerID(s.timerSeq)
	e := &timerEntry{fn: fn, every: every}
	e.t = time.AfterFunc(d, func() {
		m := Message{Kind: kindTimer, To: s.id, Session: uint64(id)}
		_ = s.mb.push(&m, nil, true) // a stopped service has cancelled it anyway
	})
	s.timers[id] = e
	return id
}

// onTimer runs the timer's function if it is still active.
func (s *Service) onTimer(id TimerID) {
	e, ok := s.timers[id]
	if !ok {
		return
	}
	if e.every == 0 {
		delete(s.timers, id)
	}
	s.safely("timer", e.fn)
	if e.every > 0 {
		if _, still := s.timers[id]; still {
			e.t.Reset(e.every)
		}
	}
}

// stopTimers cancels every timer of the service.
func (s *Service) stopTimers() {
	for id, e := range s.timers {
		e.t.Stop()
		delete(s.timers, id)
	}
}
