package gate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// Transports, for metrics.
const (
	transportTCP = iota
	transportWS
	numTransports
)

var transportNames = [numTransports]string{"tcp", "ws"}

// errTooLarge reports a client message over Options.MaxMessage.
var errTooLarge = errors.New("message too large")

// wire is one client connection's transport: whole messages in, framed
// bytes out. next is called by the reader only, send and shut by the
// writer only, abort by anyone.
type wire interface {
	// next reads one message within timeout.
	next(timeout time.Duration) ([]byte, error)
	// send writes bytes framed by appendOut within timeout; it returns how
	// many were written.
	send(buf []byte, timeout time.Duration) (int, error)
	// shut closes the connection politely, telling the client code and text
	// where the transport can (a WebSocket close frame).
	shut(code, text string)
	// abort closes the connection at once.
	abort()
	transport() int
}

// appendOut appends m framed for the transport.
func appendOut(buf []byte, transport int, m *Message) []byte {
	if transport == transportWS {
		return appendWSMessage(buf, m)
	}
	return AppendFrame(buf, m)
}

// readDeadline sets a reader's deadline to now+timeout, skipping the
// update when it would move the current deadline by less than 1/16 of
// timeout: the idle timeout is that much less exact and the message path
// cheaper.
type readDeadline struct {
	nc net.Conn
	at time.Time
}

func (d *readDeadline) arm(timeout time.Duration) {
	at := time.Now().Add(timeout)
	if !d.at.After(at) && d.at.After(at.Add(-timeout/16)) {
		return
	}
	d.at = at
	_ = d.nc.SetReadDeadline(at)
}

// tcpWire frames messages with a 4-byte little-endian length.
type tcpWire struct {
	nc  net.Conn
	max int
	dl  readDeadline
	in  pendingReader
}

func newTCPWire(nc net.Conn, opts Options, head [lengthPrefix]byte) *tcpWire {
	w := &tcpWire{nc: nc, max: opts.MaxMessage, dl: readDeadline{nc: nc}}
	w.in.init(nc)
	w.in.hi = copy(w.in.idle[:], head[:]) // the sniffed length prefix of the first message
	return w
}

func (w *tcpWire) transport() int { return transportTCP }

func (w *tcpWire) next(timeout time.Duration) ([]byte, error) {
	w.dl.arm(timeout)
	buf, err := readTCPMessage(&w.in, w.max)
	if err != nil {
		w.in.release()
	}
	return buf, err
}

// readTCPMessage reads one length-prefixed message; the length is checked
// against max before anything is allocated.
func readTCPMessage(in *pendingReader, limit int) ([]byte, error) {
	for len(in.pending()) < lengthPrefix {
		if err := in.fill(); err != nil {
			return nil, err
		}
	}
	n := binary.LittleEndian.Uint32(in.pending())
	if int64(n) > int64(limit) {
		return nil, fmt.Errorf("length prefix %d over %d: %w", n, limit, errTooLarge)
	}
	in.consume(lengthPrefix)
	return in.appendN(nil, int(n))
}

func (w *tcpWire) send(buf []byte, timeout time.Duration) (int, error) {
	_ = w.nc.SetWriteDeadline(time.Now().Add(timeout))
	return w.nc.Write(buf)
}

// shut half-closes, then reads what the client still sends for a moment
// so that the close is a FIN, not a reset that could destroy the last
// message before the client reads it.
func (w *tcpWire) shut(string, string) { linger(w.nc) }

func linger(nc net.Conn) {
	if tc, ok := nc.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
		_ = nc.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(nc, 1<<20))
	}
	_ = nc.Close()
}

func (w *tcpWire) abort() { _ = w.nc.Close() }

// wsWire carries one message per binary WebSocket message (RFC 6455, the
// gate's own server side: ws.go, wsreader.go, wsupgrade.go).
type wsWire struct {
	nc net.Conn
	dl readDeadline
	r  *wsReader
	// pong queues the answer to a client's ping through the connection's
	// bounded outbound queue; set by newConn.
	pong func(payload []byte)
	// status is the close status shut sends when set (a protocol error the
	// reader found, or the client's own close to echo); the reader sets it.
	status atomic.Uint32
}

// newWSWire serves an upgraded connection; r reads nc, after the bytes
// the handshake read ahead if any.
func newWSWire(nc net.Conn, r io.Reader, opts Options) *wsWire {
	return &wsWire{nc: nc, dl: readDeadline{nc: nc}, r: newWSReader(r, opts.MaxMessage)}
}

func (w *wsWire) transport() int { return transportWS }

func (w *wsWire) next(timeout time.Duration) ([]byte, error) {
	w.dl.arm(timeout)
	for {
		kind, data, status, err := w.r.next()
		if err != nil {
			var we *wsError
			if errors.As(err, &we) {
				w.status.Store(uint32(we.status))
			}
			w.r.release()
			return nil, err
		}
		switch kind {
		case wsGotMessage:
			return data, nil
		case wsGotPing:
			if w.pong != nil {
				w.pong(data)
			}
		case wsGotClose:
			w.status.Store(uint32(status))
			w.r.release()
			return nil, errPeerClosed
		}
	}
}

func (w *wsWire) send(buf []byte, timeout time.Duration) (int, error) {
	_ = w.nc.SetWriteDeadline(time.Now().Add(timeout))
	return w.nc.Write(buf)
}

// shut sends a close frame (the status the reader chose, else the one
// for code, with code and text as the reason) and closes like TCP.
func (w *wsWire) shut(code, text string) {
	status := wsStatus(code)
	if s := w.status.Load(); s != 0 {
		status = uint16(s)
	}
	reason := code
	if text != "" {
		reason += ": " + text
	}
	_ = w.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = w.nc.Write(appendWSClose(nil, status, reason))
	linger(w.nc)
}

func (w *wsWire) abort() { _ = w.nc.Close() }
