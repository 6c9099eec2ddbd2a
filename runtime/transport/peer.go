package transport

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Peer is an outbound link to one address. It dials lazily, on the first
// frame or on Connect, and re-dials with exponential backoff whenever the
// connection drops, until Close. Frames queued while disconnected are kept (up
// to Options.QueueBytes) and written once connected.
type Peer struct {
	t       *Transport
	addr    string
	q       *sendQueue
	stats   Stats
	started atomic.Bool
	stop    chan struct{}
	exited  chan struct{} // closed when run returns
	once    sync.Once

	mu      sync.Mutex
	conn    *Conn
	dialing net.Conn // connection in handshake, closed by Close
	// cancelDial aborts the dial in progress, if any; Close calls it.
	cancelDial context.CancelFunc
}

// Addr returns the address the peer dials.
func (p *Peer) Addr() string { return p.addr }

// Stats returns the peer's traffic counters, cumulative over reconnects.
func (p *Peer) Stats() *Stats { return &p.stats }

// Send queues payload as one frame and starts dialling if needed. It never
// blocks; a full queue returns ErrQueueFull.
func (p *Peer) Send(payload []byte) error {
	err := p.q.push(payload)
	p.Connect()
	return err
}

// Append queues one frame whose payload fn appends to b. See Conn.Append.
func (p *Peer) Append(fn func(b []byte) ([]byte, error)) error {
	err := p.q.appendFrame(fn)
	p.Connect()
	return err
}

// Encode queues one frame whose payload enc appends for v. It never blocks
// and, unlike Append, allocates nothing.
func (p *Peer) Encode(enc Encoder, v any) error {
	err := p.q.encodeFrame(enc, v, false)
	p.Connect()
	return err
}

// EncodeNow is Encode for a frame someone waits on (a request or its
// reply): if the connection is idle and nothing went out inline in the last
// inlineGap, the calling goroutine writes it at once (one non-blocking
// write) instead of waking the write loop, which saves a hand-off. Frames
// that come faster than that (a service answering a batch of calls) are
// left to the write loop, which sends them together.
func (p *Peer) EncodeNow(enc Encoder, v any) error {
	err := p.q.encodeFrame(enc, v, true)
	p.Connect()
	return err
}

// Queued returns the number of bytes waiting to be written.
func (p *Peer) Queued() int { return p.q.len() }

// Conn returns the current connection, or nil while disconnected.
func (p *Peer) Conn() *Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conn
}

// Connect starts the dial loop if it is not running yet.
func (p *Peer) Connect() {
	if p.started.Load() || !p.started.CompareAndSwap(false, true) {
		return
	}
	if !p.t.group.Go(p.run) {
		p.q.close()
		close(p.exited)
	}
}

// Close stops re-dialling and closes the connection at once; queued frames
// are dropped. Use Drain to write them first.
func (p *Peer) Close() {
	p.once.Do(func() {
		close(p.stop)
		p.q.close()
		p.mu.Lock()
		c, d, cancelDial := p.conn, p.dialing, p.cancelDial
		p.mu.Unlock()
		if cancelDial != nil {
			cancelDial()
		}
		if c != nil {
			c.Close()
		}
		if d != nil {
			_ = d.Close()
		}
		p.t.forgetPeer(p)
	})
}

// Drain stops accepting frames, waits until everything queued is written
// (dialling if needed) or ctx is done, then closes the peer.
func (p *Peer) Drain(ctx context.Context) {
	p.q.close()
	if p.started.Load() {
		select {
		case <-p.exited:
		case <-ctx.Done():
		}
	}
	p.Close()
}

func (p *Peer) stopped() bool {
	select {
	case <-p.stop:
		return true
	default:
		return false
	}
}

func (p *Peer) run() {
	defer close(p.exited)
	backoff := p.t.opts.BackoffMin
	for !p.stopped() {
		c, err := p.dial()
		if err != nil {
			if p.q.isClosing() && p.q.len() == 0 {
				return
			}
			p.t.log.V(1).Info("Dial failed", "addr", p.addr, "err", err.Error(), "retryIn", backoff.String())
			if !p.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, p.t.opts.BackoffMax)
			continue
		}
		backoff = p.t.opts.BackoffMin
		p.mu.Lock()
		p.conn = c
		p.mu.Unlock()
		if p.stopped() { // Close raced with the dial
			c.Close()
		}
		p.t.opts.Handler.ConnUp(c)
		err = c.serve()
		p.mu.Lock()
		p.conn = nil
		p.mu.Unlock()
		p.t.opts.Handler.ConnDown(c, err)
		if p.q.isClosing() {
			return
		}
	}
}

// sleep waits d with ±20% jitter; it returns false if the peer was closed.
func (p *Peer) sleep(d time.Duration) bool {
	j := time.Duration(rand.Int64N(int64(d)/5 + 1)) //nolint:gosec // jitter needs no cryptographic randomness
	tm := time.NewTimer(d - d/10 + j)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-p.stop:
		return false
	}
}

func (p *Peer) dial() (*Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), p.t.opts.DialTimeout)
	defer cancel()
	p.mu.Lock()
	p.cancelDial = cancel
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.cancelDial = nil
		p.mu.Unlock()
	}()
	if p.stopped() { // Close ran before cancelDial was set
		return nil, ErrClosed
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", p.addr, err)
	}
	p.mu.Lock()
	p.dialing = nc
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.dialing = nil
		p.mu.Unlock()
	}()
	if p.stopped() {
		_ = nc.Close()
		return nil, ErrClosed
	}
	if p.t.opts.TLS != nil {
		cfg := p.t.opts.TLS.Clone()
		if cfg.ServerName == "" {
			host, _, _ := net.SplitHostPort(p.addr)
			cfg.ServerName = host
		}
		tc := tls.Client(nc, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", p.addr, err)
		}
		nc = tc
	}
	sess, err := dialHandshake(nc, p.t.handshakeConfig())
	if err != nil {
		_ = nc.Close()
		p.t.log.Info("Handshake failed", "addr", p.addr, "err", err.Error())
		return nil, fmt.Errorf("handshake with %s: %w", p.addr, err)
	}
	if sess.encrypt {
		sc, err := newSecureConn(nc, sess.send, sess.recv)
		if err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("encrypting link to %s: %w", p.addr, err)
		}
		nc = sc
	}
	return newConn(p.t, nc, sess.peer, p, p.q, &p.stats), nil
}
