package gate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/lotou-io/lotou/runtime/core"
)

// ErrClosed is returned by Run and Drain once the gate has stopped.
var ErrClosed = errors.New("gate closed")

// Gate accepts game clients and gives each one an agent service. Create it
// with New, bind it with Listen (or let Run do it), serve with Run.
type Gate struct {
	opts    Options
	log     logr.Logger
	metrics *Metrics

	mu       sync.Mutex
	ln       net.Listener
	k        *core.Core
	conns    map[*conn]struct{}
	sniffing map[net.Conn]struct{} // accepted, first bytes not read yet
	draining bool
	closed   bool
	drained  chan struct{} // closed when draining and no session is left

	wg       sync.WaitGroup // every reader, writer and the HTTP server
	open     atomic.Int64   // connections accepted and not yet finished
	sessions atomic.Int64   // authenticated connections (with an agent)
	httpLn   *chanListener
}

// New validates opts and prepares a gate; nothing listens yet.
func New(opts Options) (*Gate, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("invalid gate options: %w", err)
	}
	g := &Gate{opts: opts, log: opts.Log, conns: map[*conn]struct{}{}, sniffing: map[net.Conn]struct{}{},
		drained: make(chan struct{})}
	g.metrics = newMetrics(g)
	return g, nil
}

// Listen binds the gate's address; Run calls it when it was not called.
func (g *Gate) Listen() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", g.opts.Addr)
	if err != nil {
		return fmt.Errorf("gate listening on %s: %w", g.opts.Addr, err)
	}
	g.ln = ln
	return nil
}

// Addr returns the bound address once listening, else nil.
func (g *Gate) Addr() net.Addr {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ln == nil {
		return nil
	}
	return g.ln.Addr()
}

// Close releases the listener of a gate that will not Run (Run closes its
// own when its ctx ends). Run after Close returns ErrClosed.
func (g *Gate) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed || g.k != nil {
		return nil
	}
	g.closed = true
	if g.ln != nil {
		return g.ln.Close()
	}
	return nil
}

// Draining reports whether Drain has begun: the node should not look ready.
func (g *Gate) Draining() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.draining
}

// Sessions returns the authenticated clients connected now.
func (g *Gate) Sessions() int { return int(g.sessions.Load()) }

// Metrics returns the gate's Prometheus collector.
func (g *Gate) Metrics() *Metrics { return g.metrics }

// Run serves clients on k until ctx ends, then closes every connection
// (reason "shutdown") and returns once every goroutine it started is done.
func (g *Gate) Run(ctx context.Context, k *core.Core) error {
	if err := g.Listen(); err != nil {
		return err
	}
	g.mu.Lock()
	if g.closed || g.k != nil {
		g.mu.Unlock()
		return ErrClosed
	}
	g.k = k
	ln := g.ln
	g.httpLn = newChanListener(ln.Addr())
	g.mu.Unlock()
	srv := &http.Server{Handler: g.httpHandler(), ReadHeaderTimeout: g.opts.AuthTimeout, ErrorLog: nil}
	g.wg.Go(func() { _ = srv.Serve(g.httpLn) }) // returns when httpLn closes
	g.wg.Go(func() { g.accept(ln) })
	o := &g.opts
	rate := fmt.Sprintf("%g/s, burst %d", o.Rate, o.Burst)
	if o.Rate < 0 {
		rate = "off"
	}
	g.log.Info("Gate listening", "addr", ln.Addr().String(), "service", o.Service, "maxMessage", o.MaxMessage,
		"rate", rate, "idleTimeout", o.IdleTimeout.String(), "maxConns", o.MaxConns, "queue", o.QueueSize)
	<-ctx.Done()
	g.stop()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	if err := srv.Shutdown(sctx); err != nil { // hijacked WebSocket conns are closed by stop
		_ = srv.Close()
	}
	cancel()
	g.wg.Wait()
	return nil
}

// stop refuses new clients and closes every connection.
func (g *Gate) stop() {
	g.mu.Lock()
	g.closed = true
	conns := make([]*conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	for nc := range g.sniffing {
		_ = nc.Close()
	}
	ln := g.ln
	g.mu.Unlock()
	if ln != nil {
		_ = ln.Close()
	}
	if g.httpLn != nil {
		_ = g.httpLn.Close()
	}
	for _, c := range conns {
		c.fail(CodeShutdown, "the node is stopping")
	}
}

// Drain stops accepting clients, sends each connected client a KindMove
// notice and waits until no session is left or ctx ends. It returns the
// sessions still open (0 when drained).
func (g *Gate) Drain(ctx context.Context) int {
	g.mu.Lock()
	if !g.draining {
		g.draining = true
		if g.ln != nil {
			_ = g.ln.Close()
		}
		if g.httpLn != nil {
			_ = g.httpLn.Close()
		}
	}
	conns := make([]*conn, 0, len(g.conns))
	for c := range g.conns {
		conns = append(conns, c)
	}
	g.checkDrainedLocked()
	g.mu.Unlock()
	g.log.Info("Gate draining", "sessions", g.Sessions())
	move := &Message{Kind: KindMove, Cmd: CodeMoveCommand, Payload: []byte("this node is leaving: reconnect")}
	for _, c := range conns {
		c.enqueueAsync(move)
		g.metrics.moves.Add(1)
	}
	select {
	case <-g.drained:
	case <-ctx.Done():
	}
	return int(g.open.Load())
}

// checkDrainedLocked closes drained once draining and empty; g.mu held.
func (g *Gate) checkDrainedLocked() {
	if g.draining && len(g.conns) == 0 {
		select {
		case <-g.drained:
		default:
			close(g.drained)
		}
	}
}

// admit registers a new connection, or says why it is refused.
func (g *Gate) admit(c *conn) (code string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return CodeShutdown
	case g.draining:
		return CodeMoveCommand
	case len(g.conns) >= g.opts.MaxConns:
		return CodeFull
	}
	g.conns[c] = struct{}{}
	g.open.Add(1)
	g.wg.Add(1) // under mu and refused once closed: never after Run's Wait began
	return ""
}

// release forgets a finished connection.
func (g *Gate) release(c *conn) {
	g.mu.Lock()
	if _, ok := g.conns[c]; ok {
		delete(g.conns, c)
		g.open.Add(-1)
		g.wg.Done()
	}
	g.checkDrainedLocked()
	g.mu.Unlock()
}

func (g *Gate) core() *core.Core {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.k
}

// accept takes TCP connections and sniffs the first four bytes: "GET " is
// HTTP (WebSocket upgrade or the optional HTTP handler), anything else the
// length prefix of a TCP client's Hello.
func (g *Gate) accept(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return
		}
		g.wg.Go(func() { g.sniff(nc) })
	}
}

var httpPrefix = []byte("GET ")

func (g *Gate) sniff(nc net.Conn) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		_ = nc.Close()
		return
	}
	g.sniffing[nc] = struct{}{} // stop closes it
	g.mu.Unlock()
	var head [lengthPrefix]byte
	_ = nc.SetReadDeadline(time.Now().Add(g.opts.AuthTimeout))
	_, err := io.ReadFull(nc, head[:])
	if err == nil && bytes.Equal(head[:], httpPrefix) {
		g.serveHTTP(nc, head[:]) // unsniffs once it has read the request head
		return
	}
	g.unsniff(nc)
	if err != nil {
		g.metrics.closed(CodeMalformed)
		_ = nc.Close()
		return
	}
	g.metrics.accepted[transportTCP].Add(1)
	g.serve(newTCPWire(nc, g.opts, head))
}

// unsniff forgets a connection stop no longer needs to close itself.
func (g *Gate) unsniff(nc net.Conn) {
	g.mu.Lock()
	delete(g.sniffing, nc)
	g.mu.Unlock()
}
