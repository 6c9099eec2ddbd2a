package client

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/coder/websocket"

	"github.com/lotou-io/lotou/runtime/gate"
)

// ErrClosed is returned by calls on a closed client; Err says why it closed.
var ErrClosed = errors.New("gate client closed")

// Error is a KindError from the gate: an error code and a text.
type Error struct {
	Code string
	Text string
}

func (e *Error) Error() string { return "gate: " + e.Code + ": " + e.Text }

// Options configure Dial.
type Options struct {
	// WebSocket dials ws://addr/ws instead of raw TCP.
	WebSocket bool
	// Credentials are sent in the Hello (a ticket, or a name for NameAuth).
	Credentials []byte
	// MaxMessage bounds a message from the server (1 MiB).
	MaxMessage int
	// OnPush runs on the client's reader goroutine for every push; keep it short.
	OnPush func(cmd string, payload []byte)
	// OnMove runs on the reader goroutine when the node asks the client to
	// reconnect elsewhere.
	OnMove func(reason string)
}

// Client is one connection to a gate. Its methods may be called from any
// goroutine.
type Client struct {
	opts Options
	t    transport
	user string

	mu      sync.Mutex
	session uint32
	pending map[uint32]chan result
	err     error // why the connection ended
	done    chan struct{}
	wmu     sync.Mutex
	wg      sync.WaitGroup
}

type result struct {
	payload []byte
	err     error
}

// transport moves whole messages.
type transport interface {
	read() ([]byte, error)
	write(ctx context.Context, msg []byte) error
	close() error
}

// Dial connects to the gate at addr (host:port), says hello and waits for
// the answer. It returns the client once authenticated.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	if opts.MaxMessage == 0 {
		opts.MaxMessage = 1 << 20
	}
	var t transport
	if opts.WebSocket {
		c, _, err := websocket.Dial(ctx, "ws://"+addr+gate.PathWebSocket, nil)
		if err != nil {
			return nil, fmt.Errorf("dialing gate %s over WebSocket: %w", addr, err)
		}
		c.SetReadLimit(int64(opts.MaxMessage))
		t = &wsTransport{c: c}
	} else {
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("dialing gate %s: %w", addr, err)
		}
		t = &tcpTransport{nc: nc, max: opts.MaxMessage}
	}
	c := &Client{opts: opts, t: t, pending: map[uint32]chan result{}, done: make(chan struct{})}
	c.wg.Go(c.readLoop)
	user, err := c.roundTrip(ctx, gate.KindHello, gate.Version, opts.Credentials)
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("hello to gate %s: %w", addr, err)
	}
	c.user = string(user)
	return c, nil
}

// User returns the user the gate authenticated.
func (c *Client) User() string { return c.user }

// Call sends cmd with payload to the game service and waits for its reply.
func (c *Client) Call(ctx context.Context, cmd string, payload []byte) ([]byte, error) {
	return c.roundTrip(ctx, gate.KindCall, cmd, payload)
}

// Ping checks the connection and keeps it from idling out.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.roundTrip(ctx, gate.KindPing, "", nil)
	return err
}

// Send sends cmd with payload one way.
func (c *Client) Send(ctx context.Context, cmd string, payload []byte) error {
	return c.write(ctx, &gate.Message{Kind: gate.KindSend, Cmd: cmd, Payload: payload})
}

// WriteRaw writes bytes as one message, valid or not: for tests of the
// gate's defences.
func (c *Client) WriteRaw(ctx context.Context, msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.t.write(ctx, msg)
}

func (c *Client) roundTrip(ctx context.Context, kind gate.Kind, cmd string, payload []byte) ([]byte, error) {
	ch := make(chan result, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.session++
	s := c.session
	c.pending[s] = ch
	c.mu.Unlock()
	if err := c.write(ctx, &gate.Message{Kind: kind, Session: s, Cmd: cmd, Payload: payload}); err != nil {
		c.forget(s)
		return nil, err
	}
	select {
	case r := <-ch:
		return r.payload, r.err
	case <-ctx.Done():
		c.forget(s)
		return nil, ctx.Err()
	}
}

func (c *Client) forget(s uint32) {
	c.mu.Lock()
	delete(c.pending, s)
	c.mu.Unlock()
}

func (c *Client) write(ctx context.Context, m *gate.Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.t.write(ctx, gate.AppendMessage(nil, m)); err != nil {
		return fmt.Errorf("writing to gate: %w", err)
	}
	return nil
}

// Done is closed when the connection has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err returns why the connection ended: an *Error when the gate said why,
// nil while open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection and waits for the reader goroutine.
func (c *Client) Close() error {
	err := c.t.close()
	c.wg.Wait()
	return err
}

func (c *Client) readLoop() {
	var why error
	for {
		data, err := c.t.read()
		if err != nil {
			if why == nil {
				why = fmt.Errorf("%w: %v", ErrClosed, err)
			}
			break
		}
		m, err := gate.DecodeMessage(data, c.opts.MaxMessage)
		if err != nil {
			why = err
			break
		}
		switch m.Kind {
		case gate.KindReply, gate.KindPong:
			c.answer(m.Session, result{payload: m.Payload})
		case gate.KindError:
			e := &Error{Code: m.Cmd, Text: string(m.Payload)}
			if m.Session == 0 {
				why = e // the gate closes the connection next
				continue
			}
			c.answer(m.Session, result{err: e})
		case gate.KindPush:
			if c.opts.OnPush != nil {
				c.opts.OnPush(m.Cmd, m.Payload)
			}
		case gate.KindMove:
			if c.opts.OnMove != nil {
				c.opts.OnMove(string(m.Payload))
			}
		}
	}
	_ = c.t.close()
	c.mu.Lock()
	c.err = why
	pending := c.pending
	c.pending = map[uint32]chan result{}
	c.mu.Unlock()
	for _, ch := range pending {
		ch <- result{err: why}
	}
	close(c.done)
}

func (c *Client) answer(s uint32, r result) {
	c.mu.Lock()
	ch, ok := c.pending[s]
	delete(c.pending, s)
	c.mu.Unlock()
	if ok {
		ch <- r
	}
}

type tcpTransport struct {
	nc  net.Conn
	max int
}

func (t *tcpTransport) read() ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(t.nc, head[:]); err != nil {
		return nil, err
	}
	n := binary.LittleEndian.Uint32(head[:])
	if int64(n) > int64(t.max) {
		return nil, fmt.Errorf("message of %d bytes over %d", n, t.max)
	}
	buf := make([]byte, n)
	_, err := io.ReadFull(t.nc, buf)
	return buf, err
}

func (t *tcpTransport) write(ctx context.Context, msg []byte) error {
	if dl, ok := ctx.Deadline(); ok {
		_ = t.nc.SetWriteDeadline(dl)
	}
	buf := binary.LittleEndian.AppendUint32(make([]byte, 0, 4+len(msg)), uint32(len(msg)))
	_, err := t.nc.Write(append(buf, msg...))
	return err
}

func (t *tcpTransport) close() error { return t.nc.Close() }

type wsTransport struct{ c *websocket.Conn }

func (t *wsTransport) read() ([]byte, error) {
	typ, data, err := t.c.Read(context.Background())
	if err != nil {
		return nil, err
	}
	if typ != websocket.MessageBinary {
		return nil, errors.New("text message from the gate")
	}
	return data, nil
}

func (t *wsTransport) write(ctx context.Context, msg []byte) error {
	return t.c.Write(ctx, websocket.MessageBinary, msg)
}

func (t *wsTransport) close() error { return t.c.CloseNow() }
