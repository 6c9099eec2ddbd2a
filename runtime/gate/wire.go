package gate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/coder/websocket"
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

// wire is one client connection's transport: whole messages in and out.
// next is called by the reader only, send and shut by the writer only, abort
// by anyone.
type wire interface {
	// next reads one message within timeout.
	next(timeout time.Duration) ([]byte, error)
	// send writes encoded messages in order.
	send(msgs [][]byte, timeout time.Duration) error
	// shut closes the connection politely, telling the client code and text
	// where the transport can (a WebSocket close frame).
	shut(code, text string)
	// abort closes the connection at once.
	abort()
	transport() int
}

// tcpWire frames messages with a 4-byte little-endian length.
type tcpWire struct {
	nc      net.Conn
	max     int
	pending []byte // the sniffed length prefix of the first message
}

func newTCPWire(nc net.Conn, opts Options, head [lengthPrefix]byte) *tcpWire {
	return &tcpWire{nc: nc, max: opts.MaxMessage, pending: head[:]}
}

func (w *tcpWire) transport() int { return transportTCP }

func (w *tcpWire) next(timeout time.Duration) ([]byte, error) {
	_ = w.nc.SetReadDeadline(time.Now().Add(timeout))
	var head [lengthPrefix]byte
	if w.pending != nil {
		copy(head[:], w.pending)
		w.pending = nil
	} else if _, err := io.ReadFull(w.nc, head[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(head[:])
	if int64(n) > int64(w.max) {
		return nil, fmt.Errorf("length prefix %d over %d: %w", n, w.max, errTooLarge)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(w.nc, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

func (w *tcpWire) send(msgs [][]byte, timeout time.Duration) error {
	size := 0
	for _, m := range msgs {
		size += lengthPrefix + len(m)
	}
	buf := make([]byte, 0, size)
	for _, m := range msgs {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(m)))
		buf = append(buf, m...)
	}
	_ = w.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := w.nc.Write(buf)
	return err
}

// shut half-closes, then reads what the client still sends for a moment
// so that the close is a FIN, not a reset that could destroy the last
// message before the client reads it.
func (w *tcpWire) shut(string, string) {
	if tc, ok := w.nc.(interface{ CloseWrite() error }); ok {
		_ = tc.CloseWrite()
		_ = w.nc.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.Copy(io.Discard, io.LimitReader(w.nc, 1<<20))
	}
	_ = w.nc.Close()
}

func (w *tcpWire) abort() { _ = w.nc.Close() }

// wsWire carries one message per binary WebSocket message.
type wsWire struct {
	c   *websocket.Conn
	max int
	// expire runs when a read outlives its timeout: the library would close
	// the connection without a reason if a read's ctx ended, so the idle
	// close goes through the connection's own fail instead.
	expire func()
}

func newWSWire(c *websocket.Conn, opts Options) *wsWire {
	c.SetReadLimit(int64(opts.MaxMessage) + 1) // we see the excess and close with our reason
	return &wsWire{c: c, max: opts.MaxMessage}
}

func (w *wsWire) transport() int { return transportWS }

func (w *wsWire) next(timeout time.Duration) ([]byte, error) {
	t := time.AfterFunc(timeout, w.expire)
	defer t.Stop()
	typ, r, err := w.c.Reader(context.Background())
	if err != nil {
		return nil, err
	}
	buf, err := io.ReadAll(io.LimitReader(r, int64(w.max)+1))
	if err != nil {
		return nil, err
	}
	if len(buf) > w.max {
		return nil, fmt.Errorf("message over %d bytes: %w", w.max, errTooLarge)
	}
	if typ != websocket.MessageBinary {
		return nil, fmt.Errorf("text message: %w", ErrMalformed)
	}
	return buf, nil
}

func (w *wsWire) send(msgs [][]byte, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, m := range msgs {
		if err := w.c.Write(ctx, websocket.MessageBinary, m); err != nil {
			return err
		}
	}
	return nil
}

func (w *wsWire) shut(code, text string) {
	reason := code
	if text != "" {
		reason += ": " + text
	}
	if len(reason) > 120 { // a close reason is at most 123 bytes
		reason = reason[:120]
	}
	_ = w.c.Close(wsStatus(code), reason)
}

func (w *wsWire) abort() { _ = w.c.CloseNow() }

// wsStatus maps an error code to a WebSocket close status.
func wsStatus(code string) websocket.StatusCode {
	switch code {
	case CodeTooLarge:
		return websocket.StatusMessageTooBig
	case CodeIdle, CodeShutdown, CodeMoveCommand, "":
		return websocket.StatusGoingAway
	case CodeFull:
		return websocket.StatusTryAgainLater
	case CodeMalformed, CodeBadKind:
		return websocket.StatusInvalidFramePayloadData
	default:
		return websocket.StatusPolicyViolation
	}
}
