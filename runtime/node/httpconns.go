package node

import (
	"container/list"
	"net"
	"sync"
)

// httpMaxConns bounds the HTTP connections a node keeps open. Probes,
// scrapes and the operator need a handful; without a bound, anyone who can
// reach the HTTP port could hold every file descriptor of the process, and
// then the cluster port could not accept nor the node dial its peers.
const httpMaxConns = 128

// connCap is a net.Listener that keeps at most max accepted connections
// open: accepting one more closes the oldest. A probe or a scrape lasts
// milliseconds, so under a flood of held connections the ones evicted are
// the flood's, and a fresh probe still gets its answer (refusing new
// connections instead would fail the probes until the flood stops).
type connCap struct {
	net.Listener
	max   int
	mu    sync.Mutex
	conns list.List // of *cappedConn, oldest first
}

func newConnCap(ln net.Listener, maxConns int) *connCap {
	return &connCap{Listener: ln, max: maxConns}
}

// Accept implements net.Listener.
func (l *connCap) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err //nolint:wrapcheck // net/http inspects the listener's errors (temporary, closed)
	}
	c := &cappedConn{Conn: nc, l: l}
	var evict *cappedConn
	l.mu.Lock()
	c.elem = l.conns.PushBack(c)
	if l.conns.Len() > l.max {
		evict = l.conns.Remove(l.conns.Front()).(*cappedConn)
		evict.elem = nil
	}
	l.mu.Unlock()
	if evict != nil {
		_ = evict.Conn.Close() // the server's read fails and it drops the connection
	}
	return c, nil
}

// open returns the connections held now.
func (l *connCap) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns.Len()
}

// cappedConn leaves its connCap's list when closed.
type cappedConn struct {
	net.Conn
	l    *connCap
	elem *list.Element // nil once out of the list
}

// Close implements net.Conn.
func (c *cappedConn) Close() error {
	c.l.mu.Lock()
	if c.elem != nil {
		c.l.conns.Remove(c.elem)
		c.elem = nil
	}
	c.l.mu.Unlock()
	return c.Conn.Close() //nolint:wrapcheck // a net.Conn's error, as is
}

// CloseWrite half-closes the connection when the underlying one can, as
// net/http does after an error response.
func (c *cappedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite() //nolint:wrapcheck // as Close
	}
	return nil
}
