package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// Handler receives what happens on connections. Its methods are called from
// connection goroutines and must not block for long.
type Handler interface {
	// HandleFrame is called once per received frame, in order, on the
	// connection's read goroutine. payload is only valid during the call.
	HandleFrame(c *Conn, payload []byte)
	// ConnUp is called after a successful handshake, before the connection's
	// loops start; frames queued with SendFirst here go out first.
	ConnUp(c *Conn)
	// ConnDown is called once the connection's loops have ended.
	ConnDown(c *Conn, err error)
}

// Options configure a Transport. Zero values take the defaults noted.
type Options struct {
	// Self is this node's identity, sent in handshakes. See SetSelf.
	Self Identity
	// Token is the shared cluster secret; required, never sent.
	Token []byte
	// TLS, if set, wraps every connection (server and client side).
	TLS *tls.Config
	// MaxFrame is the largest payload accepted or sent (DefaultMaxFrame).
	MaxFrame int
	// QueueBytes bounds each link's send queue (16 MiB).
	QueueBytes int
	// WriteTimeout bounds one write (10s).
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the handshake (5s).
	HandshakeTimeout time.Duration
	// DialTimeout bounds one dial attempt (3s).
	DialTimeout time.Duration
	// BackoffMin and BackoffMax bound the re-dial delay (50ms, 2s).
	BackoffMin, BackoffMax time.Duration
	// Handler receives frames and connection events; required.
	Handler Handler
	// Log receives connection-level logs (default: discard).
	Log logr.Logger

	// Encrypt, if set, encrypts every frame after the handshake with the
	// Noise session keys (AES-256-GCM). A link is encrypted when either side
	// asks for it. Off by default: see docs/security.md for its cost.
	Encrypt bool
	// IdleTimeout closes a link on which nothing arrived for this long
	// (DefaultIdleTimeout). Each side sends an empty keepalive frame after
	// IdleTimeout/3 without writing, so healthy links never hit it.
	IdleTimeout time.Duration
	// FrameTimeout bounds how long the rest of a frame may take once its
	// first byte arrived (DefaultFrameTimeout).
	FrameTimeout time.Duration
	// MaxPending bounds connections accepted but not yet authenticated
	// (DefaultMaxPending); beyond it a new connection evicts the oldest in
	// handshake.
	MaxPending int
	// MaxPendingPerAddr bounds them per remote IP address
	// (DefaultMaxPendingPerAddr).
	MaxPendingPerAddr int
	// RejectLogInterval is the least time between two logged rejections of
	// one reason (one second); the others are only counted (see Rejections).
	RejectLogInterval time.Duration
}

// Defaults of the limits in Options.
const (
	DefaultIdleTimeout       = 15 * time.Second
	DefaultFrameTimeout      = 10 * time.Second
	DefaultHandshakeTimeout  = 5 * time.Second
	DefaultMaxPending        = 128
	DefaultMaxPendingPerAddr = 16
)

func (o *Options) setDefaults() {
	if o.MaxFrame <= 0 {
		o.MaxFrame = DefaultMaxFrame
	}
	if o.QueueBytes <= 0 {
		o.QueueBytes = 16 << 20
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.FrameTimeout <= 0 {
		o.FrameTimeout = DefaultFrameTimeout
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.MaxPendingPerAddr <= 0 {
		o.MaxPendingPerAddr = DefaultMaxPendingPerAddr
	}
	if o.RejectLogInterval <= 0 {
		o.RejectLogInterval = time.Second
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 3 * time.Second
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 50 * time.Millisecond
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = max(2*time.Second, o.BackoffMin)
	}
	if o.Log.GetSink() == nil {
		o.Log = logr.Discard()
	}
}

// Transport owns a listener, the accepted connections and the outbound peers,
// and every goroutine serving them.
type Transport struct {
	opts    Options
	log     logr.Logger
	self    atomic.Pointer[Identity]
	group   group
	psk     []byte
	eph     *ephemerals
	adm     admission
	rejects *rejectLog
	stop    chan struct{} // closed by Close
	stopped sync.Once
	lnErr   atomic.Pointer[error] // last accept error, nil while accepting

	mu      sync.Mutex
	ln      net.Listener
	peers   map[string]*Peer
	inbound map[*Conn]struct{}
	raw     map[net.Conn]struct{} // accepted, still in handshake
	closed  bool
}

// New returns a Transport. It does not listen until Listen is called.
func New(opts Options) (*Transport, error) {
	if len(opts.Token) == 0 {
		return nil, errors.New("transport: a cluster token is required")
	}
	if opts.Handler == nil {
		return nil, errors.New("transport: a Handler is required")
	}
	if err := checkIdentity(opts.Self); err != nil {
		return nil, err
	}
	opts.setDefaults()
	t := &Transport{
		opts: opts, log: opts.Log, peers: map[string]*Peer{}, inbound: map[*Conn]struct{}{}, raw: map[net.Conn]struct{}{},
		psk: derivePSK(opts.Token), eph: newEphemerals(), rejects: newRejectLog(opts.Log, opts.RejectLogInterval),
		adm:  admission{perAddr: map[string]int{}, maxPending: opts.MaxPending, maxPerAddr: opts.MaxPendingPerAddr},
		stop: make(chan struct{}),
	}
	self := opts.Self
	t.self.Store(&self)
	return t, nil
}

func checkIdentity(id Identity) error {
	if len(id.Name) > MaxNameLen {
		return fmt.Errorf("transport: node name longer than %d bytes", MaxNameLen)
	}
	if len(id.App) > MaxAppPayload {
		return fmt.Errorf("transport: application payload longer than %d bytes", MaxAppPayload)
	}
	return nil
}

func (t *Transport) handshakeConfig() handshakeConfig {
	return handshakeConfig{psk: t.psk, self: t.Self(), encrypt: t.opts.Encrypt, timeout: t.opts.HandshakeTimeout, guard: t.eph}
}

// Rejections returns how many connections were refused before
// authentication, by reason (the Reject* constants). Only a sample of them
// is logged.
func (t *Transport) Rejections() map[string]uint64 { return t.rejects.snapshot() }

// Pending returns the number of accepted connections still in handshake.
func (t *Transport) Pending() int { return t.adm.Pending() }

// ListenErr reports whether the listener serves: nil while it accepts (or
// when not listening), the last Accept error while accepting fails (for
// instance EMFILE, out of file descriptors), ErrClosed once closed.
// Readiness probes use it.
func (t *Transport) ListenErr() error {
	if p := t.lnErr.Load(); p != nil {
		return *p
	}
	return nil
}

func (t *Transport) setListenErr(err error) {
	if err == nil {
		t.lnErr.Store(nil)
		return
	}
	t.lnErr.Store(&err)
}

// Self returns the identity sent in handshakes.
func (t *Transport) Self() Identity { return *t.self.Load() }

// SetSelf changes the identity sent in future handshakes, for instance once
// the master has assigned a node id. With a name or application payload
// over the limits, every handshake fails with ErrBadHandshake.
func (t *Transport) SetSelf(id Identity) { t.self.Store(&id) }

// Peer returns the outbound link to addr, creating it if needed. It does not
// dial until a frame is sent or Connect is called.
func (t *Transport) Peer(addr string) *Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.peers[addr]; ok {
		return p
	}
	p := &Peer{t: t, addr: addr, q: newSendQueue(t.opts.QueueBytes, t.opts.MaxFrame), stop: make(chan struct{}), exited: make(chan struct{})}
	if t.closed {
		close(p.stop)
		p.q.close()
		return p
	}
	t.peers[addr] = p
	return p
}

func (t *Transport) forgetPeer(p *Peer) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.peers[p.addr] == p {
		delete(t.peers, p.addr)
	}
}

// Peers returns the current outbound links.
func (t *Transport) Peers() []*Peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*Peer, 0, len(t.peers))
	for _, p := range t.peers {
		out = append(out, p)
	}
	return out
}

// Inbound returns the currently accepted connections.
func (t *Transport) Inbound() []*Conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*Conn, 0, len(t.inbound))
	for c := range t.inbound {
		out = append(out, c)
	}
	return out
}

// Shutdown stops accepting, lets every link write what it has queued until
// ctx is done, then closes everything and waits for all goroutines.
func (t *Transport) Shutdown(ctx context.Context) error {
	t.mu.Lock()
	if ln := t.ln; ln != nil {
		_ = ln.Close()
	}
	conns := make([]*Conn, 0, len(t.inbound))
	for c := range t.inbound {
		conns = append(conns, c)
	}
	peers := make([]*Peer, 0, len(t.peers))
	for _, p := range t.peers {
		peers = append(peers, p)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.q.close()
	}
	for _, p := range peers {
		p.Drain(ctx)
	}
	for _, c := range conns {
		select {
		case <-c.Done():
		case <-ctx.Done():
		}
	}
	return t.Close()
}

// Close closes the listener, every connection and peer, and waits for all
// goroutines. It is idempotent.
func (t *Transport) Close() error {
	t.stopped.Do(func() { close(t.stop) })
	t.mu.Lock()
	t.closed = true
	ln := t.ln
	conns := make([]*Conn, 0, len(t.inbound))
	for c := range t.inbound {
		conns = append(conns, c)
	}
	peers := make([]*Peer, 0, len(t.peers))
	for _, p := range t.peers {
		peers = append(peers, p)
	}
	for nc := range t.raw {
		_ = nc.Close()
	}
	t.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	for _, p := range peers {
		p.Close()
	}
	for _, c := range conns {
		c.Close()
	}
	t.group.closeAndWait()
	return nil
}

// group starts goroutines, counts them, and refuses new ones once closed.
type group struct {
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
}

// Go runs f in a new goroutine unless the group is closed.
func (g *group) Go(f func()) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.wg.Go(f)
	return true
}

func (g *group) closeAndWait() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.wg.Wait()
}
