package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"
)

// Listen opens addr and accepts connections until Close. It returns the bound
// address (useful with port 0).
func (t *Transport) Listen(addr string) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return t.serveListener(ln)
}

// serveListener accepts on ln until Close.
func (t *Transport) serveListener(ln net.Listener) (net.Addr, error) {
	addr := ln.Addr().String()
	t.mu.Lock()
	if t.closed || t.ln != nil {
		t.mu.Unlock()
		_ = ln.Close()
		return nil, fmt.Errorf("listening on %s: %w", addr, ErrClosed)
	}
	t.ln = ln
	t.mu.Unlock()
	if !t.group.Go(func() { t.acceptLoop(ln) }) {
		_ = ln.Close()
		return nil, ErrClosed
	}
	return ln.Addr(), nil
}

// Accept retry delays after an error, as net/http's Server does.
const (
	acceptDelayFirst = 5 * time.Millisecond
	acceptDelayCap   = time.Second
)

func (t *Transport) acceptLoop(ln net.Listener) {
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || t.isStopped() {
				t.setListenErr(ErrClosed)
				return
			}
			// Out of file descriptors (EMFILE), aborted connections and the
			// like pass; keep accepting, slower, and report not ready.
			if delay == 0 {
				delay = acceptDelayFirst
				t.log.Error(err, "Accept failed; retrying with backoff")
			} else {
				delay = min(2*delay, acceptDelayCap)
			}
			t.setListenErr(fmt.Errorf("accepting on %s: %w", ln.Addr(), err))
			select {
			case <-time.After(delay):
			case <-t.stop:
				t.setListenErr(ErrClosed)
				return
			}
			// Ready again unless the next Accept fails at once: when the
			// shortage is over, Accept may wait long for a connection.
			t.setListenErr(nil)
			continue
		}
		if delay != 0 {
			t.log.Info("Accepting again", "addr", ln.Addr().String())
			delay = 0
		}
		t.setListenErr(nil)
		ps, evicted, reason := t.adm.admit(hostOf(nc.RemoteAddr()), nc)
		if reason != "" {
			t.rejects.reject(nc.RemoteAddr().String(), reason, nil)
			_ = nc.Close()
			continue
		}
		if evicted != "" {
			t.rejects.reject(evicted, RejectPendingLimit, errEvicted)
		}
		if !t.group.Go(func() { t.serveInbound(nc, ps) }) {
			t.adm.release(ps)
			_ = nc.Close()
			return
		}
	}
}

func (t *Transport) isStopped() bool {
	select {
	case <-t.stop:
		return true
	default:
		return false
	}
}

// rejectReason classifies a failed handshake for counting and logging.
func rejectReason(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, ErrAuth):
		return RejectAuth
	case errors.Is(err, ErrVersion):
		return RejectVersion
	case errors.Is(err, ErrReplay):
		return RejectReplay
	case errors.Is(err, ErrReflected):
		return RejectReflected
	case errors.Is(err, ErrBadHandshake), errors.Is(err, ErrFrameTooLarge), errors.Is(err, ErrRejected):
		return RejectMalformed
	case errors.As(err, &ne) && ne.Timeout():
		return RejectTimeout
	default:
		return RejectClosed
	}
}

// errEvicted says why a connection in handshake was closed: a newer one
// needed its slot (see admission).
var errEvicted = errors.New("transport: handshake slot taken by a newer connection")

func (t *Transport) serveInbound(nc net.Conn, ps *slot) {
	addr := nc.RemoteAddr().String()
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		t.adm.release(ps)
		_ = nc.Close()
		return
	}
	t.raw[nc] = struct{}{}
	t.mu.Unlock()
	raw := nc
	sess, nc, err := t.acceptSession(nc)
	t.mu.Lock()
	delete(t.raw, raw)
	t.mu.Unlock()
	evicted := t.adm.release(ps)
	if err != nil && evicted {
		_ = nc.Close() // counted when it was evicted
		return
	}
	if err != nil {
		reason := RejectTLS
		if !errors.Is(err, errTLS) {
			reason = rejectReason(err)
		}
		t.rejects.reject(addr, reason, err)
		_ = nc.Close()
		return
	}
	c := newConn(t, nc, sess.peer, nil, newSendQueue(t.opts.QueueBytes, t.opts.MaxFrame), &Stats{})
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		_ = nc.Close()
		return
	}
	t.inbound[c] = struct{}{}
	t.mu.Unlock()
	t.opts.Handler.ConnUp(c)
	err = c.serve()
	t.mu.Lock()
	delete(t.inbound, c)
	t.mu.Unlock()
	t.opts.Handler.ConnDown(c, err)
}

var errTLS = errors.New("transport: TLS handshake failed")

// acceptSession runs TLS (if configured) and the handshake on an accepted
// connection. It returns the connection frames flow on.
func (t *Transport) acceptSession(nc net.Conn) (session, net.Conn, error) {
	if t.opts.TLS != nil {
		tc := tls.Server(nc, t.opts.TLS)
		ctx, cancel := context.WithTimeout(context.Background(), t.opts.HandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			return session{}, nc, fmt.Errorf("%w: %w", errTLS, err)
		}
		nc = tc
	}
	sess, err := acceptHandshake(nc, t.handshakeConfig())
	if err != nil {
		return session{}, nc, err
	}
	if sess.encrypt {
		sc, err := newSecureConn(nc, sess.send, sess.recv)
		if err != nil {
			return session{}, nc, err
		}
		nc = sc
	}
	return sess, nc, nil
}
