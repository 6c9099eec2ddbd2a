package transport

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// replayCacheSize bounds how many first handshake messages (their ephemeral
// keys) the listener remembers to refuse replays: 4096 × 32 bytes plus map
// overhead, well under 1 MiB.
const replayCacheSize = 4096

// ephemerals remembers the ephemeral keys this node sends as a dialler (a
// listener that receives one of them is being handed its own message back)
// and the last replayCacheSize keys received as a listener (a key seen twice
// is a replay). Only keys of messages that proved the token enter the replay
// cache, so an attacker without the token cannot flush it.
type ephemerals struct {
	mu   sync.Mutex
	own  map[[32]byte]int
	seen map[[32]byte]struct{}
	ring [][32]byte
	next int
}

func newEphemerals() *ephemerals {
	return &ephemerals{own: map[[32]byte]int{}, seen: map[[32]byte]struct{}{}, ring: make([][32]byte, 0, replayCacheSize)}
}

func key32(b []byte) (k [32]byte) {
	copy(k[:], b)
	return k
}

func (e *ephemerals) addOwn(pub []byte) {
	e.mu.Lock()
	e.own[key32(pub)]++
	e.mu.Unlock()
}

func (e *ephemerals) dropOwn(pub []byte) {
	k := key32(pub)
	e.mu.Lock()
	if e.own[k]--; e.own[k] <= 0 {
		delete(e.own, k)
	}
	e.mu.Unlock()
}

// checkPeer refuses a dialler's ephemeral key that is ours or was seen
// before, and remembers it otherwise.
func (e *ephemerals) checkPeer(pub []byte) error {
	k := key32(pub)
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.own[k]; ok {
		return fmt.Errorf("%w: dialler sent our own ephemeral key", ErrReflected)
	}
	if _, ok := e.seen[k]; ok {
		return fmt.Errorf("%w: ephemeral key seen before", ErrReplay)
	}
	if len(e.ring) < replayCacheSize {
		e.ring = append(e.ring, k)
	} else {
		delete(e.seen, e.ring[e.next])
		e.ring[e.next] = k
		e.next = (e.next + 1) % replayCacheSize
	}
	e.seen[k] = struct{}{}
	return nil
}

// admission caps the connections accepted but not yet authenticated, in
// total and per remote IP address, so that unauthenticated peers cannot take
// every file descriptor or every handshake slot.
//
// When every slot is taken, a new connection evicts the oldest one in
// handshake rather than being refused: refusing would let anyone who holds
// MaxPending idle connections (reopened as they time out, from
// MaxPending/MaxPendingPerAddr addresses) lock every real peer out for as
// long as they like. A real handshake completes within a few round trips of
// its accept, so to evict it an attacker must open MaxPending connections in
// that time, not merely hold them.
type admission struct {
	mu         sync.Mutex
	pending    int
	perAddr    map[string]int
	maxPending int
	maxPerAddr int
	oldest     *slot // the queue of slots in handshake, oldest first
	newest     *slot
}

// slot is one connection's place in handshake.
type slot struct {
	host       string
	nc         net.Conn
	prev, next *slot
	evicted    bool // its connection was closed to make room; release reports it
	released   bool
}

// admit reserves a pending slot for connection nc from host. It returns the
// slot, or a refusal reason when host is at its own cap. A full table makes
// room by evicting the oldest slot: its connection is closed and its
// address returned (evictedAddr, "" if none), for the caller to count.
func (a *admission) admit(host string, nc net.Conn) (s *slot, evictedAddr, reason string) {
	a.mu.Lock()
	if a.perAddr[host] >= a.maxPerAddr {
		a.mu.Unlock()
		return nil, "", RejectAddrLimit
	}
	var evicted *slot
	if a.pending >= a.maxPending {
		if evicted = a.oldest; evicted == nil {
			a.mu.Unlock()
			return nil, "", RejectPendingLimit // maxPending <= 0
		}
		a.removeLocked(evicted)
		evicted.evicted = true
	}
	s = &slot{host: host, nc: nc, prev: a.newest}
	if a.newest != nil {
		a.newest.next = s
	} else {
		a.oldest = s
	}
	a.newest = s
	a.pending++
	a.perAddr[host]++
	a.mu.Unlock()
	if evicted == nil {
		return s, "", ""
	}
	_ = evicted.nc.Close() // its handshake fails; release tells it why
	return s, evicted.nc.RemoteAddr().String(), ""
}

// removeLocked takes s out of the queue and the counts. a.mu is held.
func (a *admission) removeLocked(s *slot) {
	if s.released {
		return
	}
	s.released = true
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		a.oldest = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		a.newest = s.prev
	}
	s.prev, s.next = nil, nil
	a.pending--
	if a.perAddr[s.host]--; a.perAddr[s.host] <= 0 {
		delete(a.perAddr, s.host)
	}
}

// release frees the slot admit reserved, once its handshake ended. It
// reports whether the slot was evicted (its failure is already counted).
func (a *admission) release(s *slot) (evicted bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.removeLocked(s)
	return s.evicted
}

// Pending returns the connections in handshake.
func (a *admission) Pending() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pending
}

func hostOf(addr net.Addr) string {
	if tcp, ok := addr.(*net.TCPAddr); ok {
		return tcp.IP.String()
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// Reasons a connection is refused before it is authenticated, as counted by
// Transport.Rejections and logged.
const (
	RejectAuth         = "auth"          // token proof failed
	RejectVersion      = "version"       // another protocol version
	RejectReplay       = "replay"        // a recorded handshake sent again
	RejectReflected    = "reflected"     // our own handshake handed back
	RejectMalformed    = "malformed"     // not a handshake, or too large
	RejectTimeout      = "timeout"       // handshake not completed in time
	RejectTLS          = "tls"           // TLS handshake failed
	RejectPendingLimit = "pending_limit" // too many connections in handshake: the oldest was evicted
	RejectAddrLimit    = "addr_limit"    // too many connections in handshake from one address
	RejectClosed       = "closed"        // connection closed during the handshake
)

var rejectReasons = []string{RejectAuth, RejectVersion, RejectReplay, RejectReflected, RejectMalformed,
	RejectTimeout, RejectTLS, RejectPendingLimit, RejectAddrLimit, RejectClosed}

// rejectLog counts refused connections by reason and logs a sample: at most
// one line per reason per interval, saying how many of that reason were not
// logged since the last.
type rejectLog struct {
	log      logr.Logger
	interval time.Duration
	counts   map[string]*atomic.Uint64
	mu       sync.Mutex
	sampled  map[string]*sample
}

type sample struct {
	last       time.Time
	suppressed uint64
}

func newRejectLog(log logr.Logger, interval time.Duration) *rejectLog {
	r := &rejectLog{log: log, interval: interval, counts: map[string]*atomic.Uint64{}, sampled: map[string]*sample{}}
	for _, reason := range rejectReasons {
		r.counts[reason] = new(atomic.Uint64)
		r.sampled[reason] = &sample{}
	}
	return r
}

// reject counts one refused connection from addr and maybe logs it.
func (r *rejectLog) reject(addr, reason string, err error) {
	r.counts[reason].Add(1)
	now := time.Now()
	r.mu.Lock()
	s := r.sampled[reason]
	if !s.last.IsZero() && now.Sub(s.last) < r.interval {
		s.suppressed++
		r.mu.Unlock()
		return
	}
	s.last = now
	suppressed := s.suppressed
	s.suppressed = 0
	r.mu.Unlock()
	detail := ""
	if err != nil {
		detail = err.Error()
	}
	r.log.Info("Rejected peer", "addr", addr, "reason", reason, "detail", detail, "suppressedSinceLast", suppressed)
}

// snapshot returns the counts by reason.
func (r *rejectLog) snapshot() map[string]uint64 {
	out := make(map[string]uint64, len(r.counts))
	for reason, c := range r.counts {
		out[reason] = c.Load()
	}
	return out
}
