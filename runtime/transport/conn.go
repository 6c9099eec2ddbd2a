package transport

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// readBufferSize is the size of each connection's read buffer.
const readBufferSize = 64 << 10

// yieldAfterDelivery makes a reader yield after handing frames over.
const yieldAfterDelivery = true

// Stats counts a link's traffic. A Peer's Stats live across reconnects.
type Stats struct {
	FramesIn  atomic.Uint64
	FramesOut atomic.Uint64
	BytesIn   atomic.Uint64
	BytesOut  atomic.Uint64
	// Writes counts write system calls (vectored writes); FramesOut/Writes
	// is the batching factor of the write path.
	Writes atomic.Uint64
}

// Conn is one authenticated connection. It has one read goroutine, which hands
// every frame to the Handler, and one write goroutine, which drains the send
// queue with vectored writes.
type Conn struct {
	t      *Transport
	nc     net.Conn
	remote Identity
	peer   *Peer // nil for inbound connections
	q      *sendQueue
	stats  *Stats

	// writeMu is held around every write: by the write loop or by a sender
	// writing inline (see sendQueue.wake).
	writeMu sync.Mutex
	batch   net.Buffers // scratch of the current writer, under writeMu
	chunks  [][]byte    // scratch of the current writer, under writeMu
	out     net.Buffers // batch being written, under writeMu (a field: WriteTo on a local allocates)
	now     *nowWriter  // inline writes without a deadline; nil: with a short one. Set before inline writes start.

	closeOnce sync.Once
	done      chan struct{}
	errMu     sync.Mutex
	err       error
}

func newConn(t *Transport, nc net.Conn, remote Identity, peer *Peer, q *sendQueue, stats *Stats) *Conn {
	return &Conn{t: t, nc: nc, remote: remote, peer: peer, q: q, stats: stats, done: make(chan struct{})}
}

// Remote returns the identity the peer gave in the handshake.
func (c *Conn) Remote() Identity { return c.remote }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Peer returns the outbound link this connection belongs to, or nil if the
// connection was accepted.
func (c *Conn) Peer() *Peer { return c.peer }

// Stats returns the traffic counters of this connection (shared with its Peer).
func (c *Conn) Stats() *Stats { return c.stats }

// Send queues payload as one frame. It never blocks; a full queue returns
// ErrQueueFull.
func (c *Conn) Send(payload []byte) error {
	if c.isClosed() {
		return ErrClosed
	}
	return c.q.push(payload)
}

// Append queues one frame whose payload fn appends to b, avoiding a copy.
// fn runs under the queue's lock: it must be quick and must not send.
func (c *Conn) Append(fn func(b []byte) ([]byte, error)) error {
	if c.isClosed() {
		return ErrClosed
	}
	return c.q.appendFrame(fn)
}

// Encode queues one frame whose payload enc appends for v; see Peer.Encode.
func (c *Conn) Encode(enc Encoder, v any) error {
	if c.isClosed() {
		return ErrClosed
	}
	return c.q.encodeFrame(enc, v, false)
}

// EncodeNow is Encode that may write at once; see Peer.EncodeNow.
func (c *Conn) EncodeNow(enc Encoder, v any) error {
	if c.isClosed() {
		return ErrClosed
	}
	return c.q.encodeFrame(enc, v, true)
}

// SendFirst queues payload ahead of anything already queued.
func (c *Conn) SendFirst(payload []byte) error {
	if c.isClosed() {
		return ErrClosed
	}
	return c.q.pushFront(payload)
}

// Close closes the connection. It is idempotent. An outbound Peer re-dials.
func (c *Conn) Close() { c.closeWith(ErrClosed) }

// Done is closed when the connection is closed.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err returns why the connection closed, or nil while it is open.
func (c *Conn) Err() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

func (c *Conn) isClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *Conn) closeWith(err error) {
	c.closeOnce.Do(func() {
		c.errMu.Lock()
		c.err = err
		c.errMu.Unlock()
		close(c.done)
		_ = c.nc.Close()
	})
}

// serve runs the read and write loops until the connection fails or its
// queue is closed and drained. It returns why the connection ended.
func (c *Conn) serve() error {
	readerDone := make(chan struct{})
	go func() { // joined below
		defer close(readerDone)
		c.closeWith(c.readLoop())
	}()
	werr := c.writeLoop()
	if werr != nil {
		c.closeWith(werr)
	} else {
		c.closeWith(ErrClosed)
	}
	<-readerDone
	return c.Err()
}

func (c *Conn) readLoop() error {
	buf := make([]byte, readBufferSize)
	p := NewParser(c.t.opts.MaxFrame)
	h := c.t.opts.Handler
	var frames uint64 // counted locally, published once per read
	deliver := func(payload []byte) error {
		frames++
		if len(payload) > 0 { // empty frames are keepalives
			h.HandleFrame(c, payload)
		}
		return nil
	}
	var dl readDeadline
	for {
		if err := dl.arm(c.nc, time.Now(), p.Pending(), c.t.opts.IdleTimeout, c.t.opts.FrameTimeout); err != nil {
			return fmt.Errorf("setting read deadline: %w", err)
		}
		n, err := c.nc.Read(buf)
		if n > 0 {
			c.stats.BytesIn.Add(uint64(n))
			perr := p.Feed(buf[:n], deliver)
			c.stats.FramesIn.Add(frames)
			if frames > 0 {
				dl.frameDone()
				if yieldAfterDelivery {
					// A frame usually woke the goroutine that handles it (a
					// service, a caller) onto this processor: let it run, and
					// answer, before this reader's next read system call.
					runtime.Gosched()
				}
			}
			frames = 0
			if perr != nil {
				c.t.log.Info("Disconnecting peer", "addr", c.nc.RemoteAddr().String(), "node", c.remote.Name, "reason", perr.Error())
				return fmt.Errorf("reading from %s: %w", c.nc.RemoteAddr(), perr)
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				what := "idle"
				if p.Pending() {
					what = "partial frame"
				}
				c.t.log.Info("Disconnecting peer", "addr", c.nc.RemoteAddr().String(), "node", c.remote.Name, "reason", what+" timeout")
				return fmt.Errorf("reading from %s: %s timeout: %w", c.nc.RemoteAddr(), what, ErrTimeout)
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("reading from %s: %w", c.nc.RemoteAddr(), io.EOF)
			}
			return fmt.Errorf("reading from %s: %w", c.nc.RemoteAddr(), err)
		}
	}
}

// ErrTimeout means a link was closed because nothing arrived for
// Options.IdleTimeout, or a started frame did not complete within
// Options.FrameTimeout.
var ErrTimeout = errors.New("transport: read timeout")

// readDeadline keeps a connection's read deadline at the earlier of "idle
// timeout from now" and "frame timeout from the start of the frame being
// read", and only touches the socket when that moves by more than an eighth
// of the idle timeout, so the hot path pays a clock read per read call.
type readDeadline struct {
	set        time.Time // deadline in force
	frameStart time.Time // when the pending frame began, zero if none
}

func (d *readDeadline) frameDone() { d.frameStart = time.Time{} }

func (d *readDeadline) arm(nc net.Conn, now time.Time, pending bool, idle, frame time.Duration) error {
	want := now.Add(idle)
	if pending {
		if d.frameStart.IsZero() {
			d.frameStart = now
		}
		if end := d.frameStart.Add(frame); end.Before(want) {
			want = end
		}
	} else {
		d.frameStart = time.Time{}
	}
	if !d.set.IsZero() && !want.Before(d.set) && want.Sub(d.set) < idle/8 {
		return nil
	}
	d.set = want
	return nc.SetReadDeadline(want) //nolint:wrapcheck // wrapped by the caller
}

// inlineWait bounds how long a sender writing inline may wait for socket
// space; what is left is handed to the write loop.
const inlineWait = 100 * time.Microsecond

// writeLoop returns nil when the queue was closed and everything written.
// When nothing was written for a third of the idle timeout, it sends an
// empty keepalive frame so that the peer's idle timeout never fires on a
// healthy link.
func (c *Conn) writeLoop() error {
	_, secure := c.nc.(*secureConn)
	inline := c.t.opts.TLS == nil && !secure // a timed-out TLS or record write breaks the stream
	if inline {
		c.now = newNowWriter(c.nc)
		c.q.flusher.Store(c)
		defer c.q.flusher.CompareAndSwap(c, nil)
	}
	keepalive := time.NewTicker(c.t.opts.IdleTimeout / 3)
	defer keepalive.Stop()
	lastWrites := c.stats.Writes.Load()
	for {
		select {
		case <-c.done:
			return c.Err()
		case <-keepalive.C:
			if w := c.stats.Writes.Load(); w != lastWrites {
				lastWrites = w
				continue
			}
			_ = c.q.push(nil) // a full queue is being written anyway
			continue
		case <-c.q.ready:
		}
		c.writeMu.Lock()
		closing, err := c.flush(time.Now().Add(c.t.opts.WriteTimeout), false)
		c.writeMu.Unlock()
		if err != nil {
			return err
		}
		if closing {
			return nil
		}
	}
}

// flushInline writes what is queued from a sender's goroutine. writeMu is
// held.
func (c *Conn) flushInline() {
	if c.isClosed() {
		c.q.signal() // the next connection's write loop takes it
		return
	}
	if _, err := c.flush(time.Now().Add(inlineWait), true); err != nil {
		c.closeWith(err)
	}
}

// flush takes everything queued and writes it with one vectored write. An
// inline write that runs out of its short deadline is not an error: the rest
// is queued again for the write loop.
// writeMu is held.
func (c *Conn) flush(deadline time.Time, inline bool) (closing bool, err error) {
	bufs, frames, closing := c.q.take(c, c.batch[:0])
	c.batch = bufs[:0] // keep the slice for the next batch; WriteTo consumes a copy
	if len(bufs) == 0 {
		return closing, nil
	}
	c.chunks = append(c.chunks[:0], bufs...) // WriteTo nils the entries it wrote
	var n int64
	if inline && c.now != nil {
		n, err = c.now.write(c.nc, &bufs)
		c.stats.Writes.Add(1)
		c.stats.BytesOut.Add(uint64(n))
		c.stats.FramesOut.Add(uint64(frames))
		if err != nil {
			return closing, fmt.Errorf("writing to %s: %w", c.nc.RemoteAddr(), err)
		}
		if len(bufs) > 0 {
			c.q.requeueRest(c, bufs) // what the socket did not take at once
			clear(c.chunks)
			return false, nil
		}
		c.q.recycle(c.chunks)
		clear(c.chunks)
		return closing, nil
	}
	err = c.nc.SetWriteDeadline(deadline)
	if err != nil {
		return closing, fmt.Errorf("setting write deadline: %w", err)
	}
	if sc, ok := c.nc.(*secureConn); ok {
		var m int
		m, err = sc.writeBuffers(bufs)
		n = int64(m)
	} else {
		c.out = bufs
		n, err = c.out.WriteTo(c.nc)
		bufs, c.out = c.out, nil
	}
	c.stats.Writes.Add(1)
	c.stats.BytesOut.Add(uint64(n))
	c.stats.FramesOut.Add(uint64(frames))
	if err != nil {
		var ne net.Error
		if inline && errors.As(err, &ne) && ne.Timeout() {
			c.q.requeueRest(c, bufs) // bufs now holds what was not written
			clear(c.chunks)
			return false, nil
		}
		return closing, fmt.Errorf("writing to %s: %w", c.nc.RemoteAddr(), err)
	}
	c.q.recycle(c.chunks)
	clear(c.chunks)
	return closing, nil
}
