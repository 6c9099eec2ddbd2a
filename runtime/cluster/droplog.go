package cluster

import (
	"sync"
	"time"
)

// dropLogInterval is the least time between two logged drops of one kind.
const dropLogInterval = time.Second

// dropLog samples the log lines of frames dropped because a peer sent
// something wrong: one line per kind and interval, the next line saying how
// many were not written meanwhile. A peer holding the token could otherwise
// write a line per 5-byte frame.
type dropLog struct {
	mu      sync.Mutex
	last    map[string]time.Time
	skipped map[string]int
}

// allow reports whether a drop of kind may be logged at now, and how many
// of that kind were suppressed since the last one logged.
func (l *dropLog) allow(kind string, now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last, l.skipped = map[string]time.Time{}, map[string]int{}
	}
	if last, ok := l.last[kind]; ok && now.Sub(last) < dropLogInterval {
		l.skipped[kind]++
		return 0, false
	}
	n := l.skipped[kind]
	l.last[kind], l.skipped[kind] = now, 0
	return n, true
}

// logDrop logs msg (a constant: the kind) with kv, sampled by c.drops.
func (c *Cluster) logDrop(msg string, kv ...any) {
	skipped, ok := c.drops.allow(msg, c.opts.Now())
	if !ok {
		return
	}
	c.log.Info(msg, append(kv, "suppressed", skipped)...)
}
