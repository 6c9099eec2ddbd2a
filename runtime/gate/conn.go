package gate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/lotou-io/lotou/runtime/core"
)

// CodeTimeout answers a KindCall the game service did not answer in time.
const CodeTimeout = "timeout"

// conn is one client connection: the reader (serveAdmitted, then readLoop)
// owns its lifecycle; a writer goroutine runs only while there is
// something to write.
type conn struct {
	g     *Gate
	k     *core.Core // set by hello
	w     wire
	user  string
	agent core.ServiceID
	game  core.ServiceID // agent-owned after the hello
	// agentArg and userArg are the agent's id and the user boxed once, for
	// the arguments of every forwarded message.
	agentArg, userArg any
	bucket            bucket // reader-owned

	mu       sync.Mutex
	out      *[]byte // framed messages waiting for the writer (pooled); nil when none
	queued   int     // messages in out, bounded by Options.QueueSize
	flushing bool
	closing  bool
	code     string
	text     string
	shutDone chan struct{} // closed once the wire is shut
}

// serve runs one client connection to its end on this goroutine.
func (g *Gate) serve(w wire) {
	if c := g.newConn(w); g.admitOrRefuse(c) {
		g.serveAdmitted(c)
	}
}

func (g *Gate) newConn(w wire) *conn {
	c := &conn{g: g, w: w, shutDone: make(chan struct{})}
	if ws, ok := w.(*wsWire); ok {
		ws.pong = c.enqueuePong
	}
	return c
}

// admitOrRefuse registers c (counting its goroutine in the gate's
// WaitGroup until release), or tells the client why not and closes it.
func (g *Gate) admitOrRefuse(c *conn) bool {
	if code := g.admit(c); code != "" {
		g.metrics.refused.Add(1)
		c.fail(code, refusal(code))
		<-c.shutDone
		return false
	}
	return true
}

// serveAdmitted runs an admitted connection: the hello on this goroutine,
// then the reads on a fresh one, whose stack stays shallow for as long as
// the client is connected (this one has grown with the hello's auth,
// lookup and spawn); the connection's count in the gate's WaitGroup (taken
// by admit) covers it until finish.
func (g *Gate) serveAdmitted(c *conn) {
	if code, text := c.welcome(); code != "" {
		c.finish(code, text)
		return
	}
	go c.readLoop()
}

func (c *conn) readLoop() { c.finish(c.read()) }

// finish closes the connection with a reason, stops the agent and
// releases the connection.
func (c *conn) finish(code, text string) {
	g := c.g
	defer g.release(c)
	c.fail(code, text)
	<-c.shutDone
	if c.agent != 0 {
		_ = g.core().Close(c.agent, false) // its stop hook tells the game service
		g.sessions.Add(-1)
	}
}

func refusal(code string) string {
	switch code {
	case CodeFull:
		return "too many clients on this node"
	case CodeMoveCommand:
		return "this node is leaving: reconnect"
	default:
		return "the node is stopping"
	}
}

// welcome reads the hello, authenticates the client and starts its agent;
// it returns why not.
func (c *conn) welcome() (code, text string) {
	g := c.g
	data, err := c.w.next(g.opts.AuthTimeout)
	if err != nil {
		return readFailure(err)
	}
	m, err := DecodeMessage(data, g.opts.MaxMessage)
	if err != nil {
		return CodeMalformed, err.Error()
	}
	if m.Kind != KindHello || m.Cmd != Version {
		g.metrics.authFailed.Add(1)
		return CodeUnauthorized, fmt.Sprintf("the first message must be a hello for %s", Version)
	}
	return c.hello(&m)
}

// read reads client messages until the connection ends; it returns why.
func (c *conn) read() (code, text string) {
	g := c.g
	for {
		data, err := c.w.next(g.opts.IdleTimeout)
		if err != nil {
			return readFailure(err)
		}
		if c.isClosing() {
			return "", ""
		}
		m, err := DecodeMessage(data, g.opts.MaxMessage)
		if err != nil {
			return CodeMalformed, err.Error()
		}
		g.metrics.in.Add(1)
		if !c.bucket.allow(g.opts.Now(), g.opts.Rate, g.opts.Burst) {
			g.metrics.rateLimited.Add(1)
			if m.Kind == KindCall {
				c.enqueue(&Message{Kind: KindError, Session: m.Session, Cmd: CodeRateLimited, Payload: []byte("slow down")})
			}
			continue
		}
		switch m.Kind {
		case KindPing:
			c.enqueue(&Message{Kind: KindPong, Session: m.Session})
		case KindSend, KindCall:
			if err := c.k.Send(c.agent, "in", &m); err != nil {
				g.metrics.rateLimited.Add(1)
				if m.Kind == KindCall {
					c.enqueue(&Message{Kind: KindError, Session: m.Session, Cmd: CodeRateLimited, Payload: []byte("agent busy")})
				}
			}
		default:
			return CodeBadKind, fmt.Sprintf("a client may not send kind %d", m.Kind)
		}
	}
}

func readFailure(err error) (code, text string) {
	switch {
	case errors.Is(err, errTooLarge):
		return CodeTooLarge, err.Error()
	case errors.Is(err, ErrMalformed):
		return CodeMalformed, err.Error()
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return CodeIdle, "no message within the idle timeout"
	default:
		return "", "" // the client went away
	}
}

// hello authenticates, finds the game service and starts the agent.
func (c *conn) hello(m *Message) (code, text string) {
	g := c.g
	ctx, cancel := context.WithTimeout(context.Background(), g.opts.AuthTimeout)
	defer cancel()
	user, err := g.opts.Auth(ctx, m.Payload)
	if err != nil {
		g.metrics.authFailed.Add(1)
		return CodeUnauthorized, err.Error()
	}
	k := g.core()
	c.k = k
	game, err := k.Lookup(ctx, g.opts.Service)
	if err != nil {
		return CodeUnavailable, fmt.Sprintf("game service %q: %v", g.opts.Service, err)
	}
	c.user, c.game = user, game
	s, err := k.Spawn(ctx, "", c.setup, core.WithMailboxSize(g.opts.AgentMailbox))
	if err != nil {
		return CodeUnavailable, fmt.Sprintf("starting agent: %v", err)
	}
	c.agent = s.ID()
	g.sessions.Add(1)
	c.enqueue(&Message{Kind: KindReply, Session: m.Session, Payload: []byte(user)})
	return "", ""
}

// setup registers the agent's handlers.
func (c *conn) setup(s *core.Service) error {
	c.agentArg, c.userArg = s.ID(), c.user
	s.Handle("in", func(ctx *core.Context, args []any) ([]any, error) {
		if m, ok := args[0].(*Message); ok && len(args) == 1 {
			c.forward(ctx.Service, m)
		}
		return nil, nil
	})
	s.Handle("push", func(cmd string, payload []byte) {
		c.enqueue(&Message{Kind: KindPush, Cmd: cmd, Payload: payload})
	})
	s.Handle("kick", func(reason string) { c.fail(CodeKicked, reason) })
	s.OnStop(func() { c.disconnected(s) })
	return nil
}

// disconnected tells the game service the client is gone. It runs on the
// agent as it stops, after what was queued for it: the notice follows the
// client's last messages, and reads the agent-owned game id.
func (c *conn) disconnected(s *core.Service) {
	if c.game == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), c.g.opts.CallTimeout)
		id, err := s.Lookup(ctx, c.g.opts.Service)
		cancel()
		if err != nil {
			return
		}
		c.game = id
	}
	_ = s.Send(c.game, "disconnected", c.agentArg, c.userArg)
}

// forward runs on the agent: a client Send or Call to the game service.
func (c *conn) forward(s *core.Service, m *Message) {
	if c.game == 0 {
		ctx, cancel := context.WithTimeout(context.Background(), c.g.opts.CallTimeout)
		id, err := s.Lookup(ctx, c.g.opts.Service)
		cancel()
		if err != nil {
			c.answerErr(m, err)
			return
		}
		c.game = id
	}
	if m.Kind == KindSend {
		if err := s.Send(c.game, m.Cmd, c.agentArg, c.userArg, m.Payload); err != nil {
			c.g.metrics.forwardFailed.Add(1)
			c.forget(err)
		}
		return
	}
	sess := m.Session
	s.Request(c.game, c.g.opts.CallTimeout, func(ret []any, err error) {
		if err != nil {
			c.forget(err)
			c.answerErr(&Message{Session: sess}, err)
			return
		}
		p, err := replyPayload(ret)
		if err != nil {
			c.answerErr(&Message{Session: sess}, err)
			return
		}
		c.enqueue(&Message{Kind: KindReply, Session: sess, Payload: p})
	}, m.Cmd, c.agentArg, c.userArg, m.Payload)
}

// forget drops the game service id after an error that says it moved.
// ErrStopped is not one: the agent's own stop fails its pending requests
// with it, and a stopped game answers ErrServiceNotFound next.
func (c *conn) forget(err error) {
	if errors.Is(err, core.ErrServiceNotFound) || errors.Is(err, core.ErrNodeDown) {
		c.game = 0
	}
}

func (c *conn) answerErr(m *Message, err error) {
	c.g.metrics.forwardFailed.Add(1)
	code := CodeFailed
	switch {
	case errors.Is(err, core.ErrCallTimeout), errors.Is(err, context.DeadlineExceeded):
		code = CodeTimeout
	case errors.Is(err, core.ErrServiceNotFound), errors.Is(err, core.ErrNodeDown),
		errors.Is(err, core.ErrStopped), errors.Is(err, core.ErrMailboxFull):
		code = CodeUnavailable
	}
	if m.Kind == KindSend {
		return
	}
	c.enqueue(&Message{Kind: KindError, Session: m.Session, Cmd: code, Payload: []byte(err.Error())})
}

// replyPayload turns a game service's reply into a client payload: nothing,
// one []byte or one string.
func replyPayload(ret []any) ([]byte, error) {
	if len(ret) == 0 {
		return nil, nil
	}
	if len(ret) == 1 {
		switch v := ret[0].(type) {
		case []byte:
			return v, nil
		case string:
			return []byte(v), nil
		case nil:
			return nil, nil
		}
	}
	return nil, fmt.Errorf("the game service replied %d values, want one []byte or string: %w", len(ret), core.ErrBadArgs)
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}
