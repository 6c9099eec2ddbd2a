package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Dir is a direction through the proxy.
type Dir int

// Directions: In is client → target (towards the node behind the proxy), Out
// is target → client (what the node sends back).
const (
	In Dir = iota
	Out
)

// String names the direction.
func (d Dir) String() string {
	if d == In {
		return "in"
	}
	return "out"
}

// Fault is the impairment of one direction. The zero Fault forwards at once.
type Fault struct {
	// Prob is the chance that a chunk read is held (0..1).
	Prob float64
	// HoldMin and HoldMax bound how long a held chunk waits.
	HoldMin, HoldMax time.Duration
}

// queueChunks bounds the chunks waiting in one direction of one connection;
// a full queue stops the reader (TCP back-pressure), never grows memory.
const queueChunks = 256

// chunkSize is the read buffer of a pump.
const chunkSize = 32 << 10

// Proxy forwards TCP connections from its listener to Target.
type Proxy struct {
	ln     net.Listener
	target string
	seed   uint64

	mu     sync.Mutex
	faults [2]Fault
	conns  map[net.Conn]struct{}
	held   [2]uint64 // chunks held so far, per direction
}

// New listens on listen and forwards every connection to target. seed makes
// the hold decisions reproducible per connection.
func New(listen, target string, seed uint64) (*Proxy, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("proxy listening on %s: %w", listen, err)
	}
	return &Proxy{ln: ln, target: target, seed: seed, conns: map[net.Conn]struct{}{}}, nil
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetFault sets the impairment of direction d for every connection, current
// and future.
func (p *Proxy) SetFault(d Dir, f Fault) {
	p.mu.Lock()
	p.faults[d] = f
	p.mu.Unlock()
}

// Clear removes every fault.
func (p *Proxy) Clear() {
	p.mu.Lock()
	p.faults = [2]Fault{}
	p.mu.Unlock()
}

// Held returns how many chunks were held in direction d so far.
func (p *Proxy) Held(d Dir) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held[d]
}

// CloseAll cuts every open connection (both sides), as a reset would.
func (p *Proxy) CloseAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		_ = c.Close()
	}
}

func (p *Proxy) fault(d Dir) Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.faults[d]
}

func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !add {
		delete(p.conns, c)
		return true
	}
	if p.conns == nil { // closed
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

// Run accepts and forwards until ctx ends, then closes every connection and
// returns once all its goroutines have.
func (p *Proxy) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() {
		_ = p.ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
		p.mu.Unlock()
	})
	defer stop()
	var n uint64
	for {
		c, err := p.ln.Accept()
		if err != nil {
			wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("proxy accepting on %s: %w", p.Addr(), err)
		}
		n++
		seed := p.seed ^ n
		wg.Go(func() { p.serve(ctx, c, seed) })
	}
}

// serve dials the target and runs the two directions of one connection.
func (p *Proxy) serve(ctx context.Context, c net.Conn, seed uint64) {
	if !p.track(c, true) {
		_ = c.Close()
		return
	}
	defer p.track(c, false)
	defer c.Close()
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	t, err := (&net.Dialer{}).DialContext(dctx, "tcp", p.target)
	cancel()
	if err != nil {
		return
	}
	if !p.track(t, true) {
		_ = t.Close()
		return
	}
	defer p.track(t, false)
	defer t.Close()
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) //nolint:gosec // G404: fault injection, not security
	var rmu sync.Mutex
	wg.Go(func() { p.pump(c, t, In, rng, &rmu) })
	wg.Go(func() { p.pump(t, c, Out, rng, &rmu) })
	wg.Wait()
}

type chunk struct {
	b  []byte
	at time.Time // earliest delivery
}

// pump copies src to dst in direction d, holding chunks as the fault says.
// It closes both ends when either side ends, so its twin stops too.
func (p *Proxy) pump(src, dst net.Conn, d Dir, rng *rand.Rand, rmu *sync.Mutex) {
	q := make(chan chunk, queueChunks)
	var wg sync.WaitGroup
	wg.Go(func() { // writer
		for ch := range q {
			if w := time.Until(ch.at); w > 0 {
				time.Sleep(w)
			}
			if _, err := dst.Write(ch.b); err != nil {
				_ = src.Close()
				for range q { // drain so the reader can finish
				}
				return
			}
		}
		closeWrite(dst)
	})
	defer wg.Wait()
	defer close(q)
	var last time.Time
	buf := make([]byte, chunkSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			at := time.Now()
			if hold := p.hold(d, rng, rmu); hold > 0 {
				at = at.Add(hold)
			}
			if at.Before(last) {
				at = last // in order: a held chunk holds the ones behind it
			}
			last = at
			q <- chunk{b: append([]byte(nil), buf[:n]...), at: at}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				_ = dst.Close()
			}
			return
		}
	}
}

func (p *Proxy) hold(d Dir, rng *rand.Rand, rmu *sync.Mutex) time.Duration {
	f := p.fault(d)
	if f.Prob <= 0 {
		return 0
	}
	rmu.Lock()
	hit := rng.Float64() < f.Prob
	span := int64(f.HoldMax - f.HoldMin)
	extra := int64(0)
	if span > 0 {
		extra = rng.Int64N(span)
	}
	rmu.Unlock()
	if !hit {
		return 0
	}
	p.mu.Lock()
	p.held[d]++
	p.mu.Unlock()
	return f.HoldMin + time.Duration(extra)
}

// closeWrite half-closes dst after its peer finished sending, so EOF travels.
func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		return
	}
	_ = c.Close()
}
