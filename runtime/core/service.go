package core

import (
	"context"
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// Actor is a service written as a Go type: Init registers its handlers (and
// may set timers or subscribe). If it also implements Stopper, Stop runs when
// the service stops.
type Actor interface {
	Init(s *Service) error
}

// Stopper is implemented by Actors that need a stop hook.
type Stopper interface {
	Stop(s *Service)
}

// ActorFunc adapts a setup function to Actor.
type ActorFunc func(s *Service) error

// Init calls f.
func (f ActorFunc) Init(s *Service) error { return f(s) }

// ServiceOption tunes one service at start.
type ServiceOption func(*serviceConfig)

type serviceConfig struct {
	mailboxSize int
}

// WithMailboxSize sets the capacity of the service's mailbox.
func WithMailboxSize(n int) ServiceOption {
	return func(sc *serviceConfig) { sc.mailboxSize = n }
}

// Service is a running service: one goroutine, one bounded mailbox,
// handlers run one at a time. ID, Name, Send, SendWait and Log may be used
// from any goroutine; every other method belongs to the service's own
// goroutine (setup function, handlers, timers, callbacks, stop hooks).
type Service struct {
	core *Core
	id   ServiceID
	name string
	log  logr.Logger
	mb   mailbox
	// events counts cluster events queued and not yet handled (see Publish).
	events atomic.Int64

	// Owned by the service goroutine.
	handlers map[string]*handler
	pub      atomic.Pointer[map[string]*handler] // a copy of handlers for connection readers (DecodeArgsFor)
	lastCmd  string                              // the command handled last and its handler: a stream
	lastH    *handler                            // of one command skips the map's string hash
	buf      []envelope
	pos      int
	calls    map[uint64]*pendingCall
	timers   map[TimerID]*timerEntry
	timerSeq uint64
	cur      *strand       // the strand holding the baton (see strand.go)
	parked   int           // strands suspended in Call or Lookup
	spare    *strand       // an idle loop strand kept for the next handler that blocks
	back     chan struct{} // capacity 1: a resumed strand hands the baton back
	strands  bool          // the loop runs: a blocking handler parks
	ending   bool          // shutdown: a Call waits inline
	onStop   []func()
	onEvent  func(Event)
	initErr  error
	started  bool
}

// Context is what a handler may take as its first parameter: the message's
// sender plus every Service method. It is only valid during the handler.
type Context struct {
	*Service
	msg *envelope
}

// From returns the sender of the message being handled (the node's own id
// for code outside any service).
func (c *Context) From() ServiceID { return c.msg.from }

// Cmd returns the command being handled.
func (c *Context) Cmd() string { return c.msg.cmd }

// Deadline returns when the caller of the message being handled stops
// waiting, if it said (a Call or Request from another service or node).
// The handler's own Calls and Lookups are bounded by it.
func (c *Context) Deadline() (time.Time, bool) {
	d := c.msg.deadline()
	return d, !d.IsZero()
}

// Spawn starts a service named name (empty for anonymous, "." prefix for a
// node-local name) whose handlers are registered by setup. setup runs before
// the service goroutine starts; an error from it or from any Handle call
// aborts the start.
func (c *Core) Spawn(ctx context.Context, name string, setup func(s *Service) error, opts ...ServiceOption) (*Service, error) {
	return c.Start(ctx, name, ActorFunc(setup), opts...)
}

// Start starts a service from an Actor; see Spawn.
func (c *Core) Start(ctx context.Context, name string, a Actor, opts ...ServiceOption) (*Service, error) {
	sc := serviceConfig{mailboxSize: c.mbSize}
	for _, o := range opts {
		o(&sc)
	}
	if sc.mailboxSize <= 0 {
		return nil, fmt.Errorf("starting service %q: mailbox size %d: %w", name, sc.mailboxSize, ErrBadArgs)
	}
	n := c.seq.Add(1)
	if n > indexMask {
		return nil, fmt.Errorf("starting service %q: this process has used all %d ids: %w", name, uint64(indexMask), ErrTooLarge)
	}
	s := &Service{
		core:     c,
		id:       MakeIncID(c.node, c.inc, uint32(n)),
		name:     name,
		handlers: make(map[string]*handler),
		calls:    make(map[uint64]*pendingCall),
		timers:   make(map[TimerID]*timerEntry),
		back:     make(chan struct{}, 1),
	}
	s.log = c.log.WithValues("service", s.id.String())
	if name != "" {
		s.log = s.log.WithValues("name", name)
	}
	s.mb.init(sc.mailboxSize, c.node)
	// Count the goroutine before anything can see the service, so that a
	// concurrent Stop either refuses this start or waits for it.
	c.lifeMu.Lock()
	if c.stopping.Load() {
		c.lifeMu.Unlock()
		return nil, fmt.Errorf("starting service %q: %w", name, ErrStopped)
	}
	c.wg.Add(1)
	c.lifeMu.Unlock()
	if err := c.startService(ctx, s, a); err != nil {
		c.wg.Done()
		return nil, err
	}
	go s.run()
	if c.stopping.Load() {
		s.mb.close() // Stop ran meanwhile and may have missed s in the table
	}
	return s, nil
}

// startService registers the name and runs the Actor's Init.
func (c *Core) startService(ctx context.Context, s *Service, a Actor) error {
	name := s.name
	if err := c.registerName(ctx, name, s.id); err != nil {
		return fmt.Errorf("starting service %q: %w", name, err)
	}
	c.table.put(s)
	if err := s.runInit(a); err != nil {
		c.table.remove(s.id)
		c.releaseName(ctx, name, s.id)
		s.stopTimers()
		if s.onEvent != nil {
			c.unsubscribe(s)
		}
		s.failQueued(s.mb.finish())
		return fmt.Errorf("starting service %q: %w", name, err)
	}
	if st, ok := a.(Stopper); ok {
		s.onStop = append(s.onStop, func() { st.Stop(s) })
	}
	s.started = true
	return nil
}

// runInit runs the setup with panic isolation.
func (s *Service) runInit(a Actor) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("init: %w: %v", ErrHandlerPanic, r)
		}
	}()
	if err := a.Init(s); err != nil {
		return err
	}
	return s.initErr
}

// ID returns the service's id.
func (s *Service) ID() ServiceID { return s.id }

// Name returns the name the service was started with.
func (s *Service) Name() string { return s.name }

// Core returns the core the service runs in.
func (s *Service) Core() *Core { return s.core }

// Log returns the service's logger (with its id and name).
func (s *Service) Log() logr.Logger { return s.log }

// Handle registers fn as the handler of cmd. fn is a func whose optional
// first parameter is *Context and whose other parameters are the message
// arguments; its results are the reply, a trailing error result becoming an
// error reply. The signature is checked here, once; a bad one makes the
// service fail to start (or is logged if registered later).
func (s *Service) Handle(cmd string, fn any) {
	h, err := newHandler(fn)
	if err != nil {
		err = fmt.Errorf("handling %q: %w", cmd, err)
		if s.started {
			s.log.Error(err, "Handler not registered")
		} else if s.initErr == nil {
			s.initErr = err
		}
		return
	}
	s.handlers[cmd] = h
	s.lastCmd, s.lastH = "", nil
	pub := maps.Clone(s.handlers)
	s.pub.Store(&pub)
}

// OnStop adds a hook run on the service goroutine when the service stops:
// after what was queued before the stop was handled. When the whole core
// stops, every service runs its hooks while the others still serve (a hook
// may Call another service of the node) and the mailboxes close only
// afterwards; see Core.Stop.
func (s *Service) OnStop(fn func()) { s.onStop = append(s.onStop, fn) }

// Subscribe makes the service receive cluster events; fn runs on the service
// goroutine. At most the mailbox capacity of events wait for the service;
// beyond that events are dropped and counted (DropEventOverflow).
func (s *Service) Subscribe(fn func(Event)) {
	first := s.onEvent == nil
	s.onEvent = fn
	if first && fn != nil {
		s.core.subscribe(s)
	}
}

// Send delivers a one-way message from this service. It never blocks: a full
// mailbox returns ErrMailboxFull.
func (s *Service) Send(to ServiceID, cmd string, args ...any) error {
	return s.core.send(context.Background(), s.id, to, cmd, args, false)
}

// SendWait is Send that waits for room in a full local mailbox until ctx
// ends. Waiting blocks the service; prefer Send in handlers.
func (s *Service) SendWait(ctx context.Context, to ServiceID, cmd string, args ...any) error {
	return s.core.send(ctx, s.id, to, cmd, args, true)
}

// SendInt is Send with one unboxed int argument; see Core.SendInt.
func (s *Service) SendInt(to ServiceID, cmd string, n int) error {
	return s.core.sendInt(context.Background(), s.id, to, cmd, n, false)
}

// Lookup returns the id of the service holding name. A name the registry
// cannot answer at once (not known yet on this node) is waited for like a
// Call: the handler is suspended and the service goes on serving.
func (s *Service) Lookup(ctx context.Context, name string) (ServiceID, error) {
	if IsLocalName(name) {
		return s.core.local.Lookup(ctx, name)
	}
	reg := s.core.Registry()
	switch r := reg.(type) {
	case *LocalRegistry:
		return r.Lookup(ctx, name)
	case QuickRegistry:
		if id, done, err := r.LookupNow(name); done {
			return id, err
		}
	}
	if s.parked >= maxCallDepth {
		return 0, fmt.Errorf("looking up %q with %d handlers suspended: %w", name, s.parked, ErrCallDepth)
	}
	ctx, cancel := s.callCtx(ctx)
	if cancel != nil {
		defer cancel()
	}
	return s.lookupWait(ctx, reg, name)
}

// Queued returns how many messages wait in the service's mailbox (not
// counting a batch already taken by the service goroutine).
func (s *Service) Queued() int {
	return s.mb.queued()
}

// Exit asks this service to stop gracefully once what is queued is handled.
func (s *Service) Exit() { s.mb.close() }

// Request sends cmd to the service to and returns at once; cb runs exactly
// once, later, on this service's goroutine, with the reply or an error
// (ErrCallTimeout after timeout if timeout > 0, ErrNodeDown, ErrStopped...).
// A late reply after the timeout is dropped. cb may be nil to discard the
// outcome.
func (s *Service) Request(to ServiceID, timeout time.Duration, cb func(ret []any, err error), cmd string, args ...any) {
	if cb == nil {
		cb = func([]any, error) {} // a nil cb still marks the session as a Request
	}
	sess := s.core.session.Add(1)
	p := &pendingCall{cb: cb, remote: !s.core.IsLocal(to)}
	s.calls[sess] = p
	m := Message{Kind: KindRequest, From: s.id, To: to, Session: sess, Cmd: cmd}
	if timeout > 0 && p.remote {
		m.Deadline = time.Now().Add(timeout) // the other node refuses it once its caller gave up
	}
	if err := s.core.routeFrom(s, &m, args); err != nil {
		r := Message{Kind: KindReply, From: to, To: s.id, Session: sess, err: err}
		if perr := s.mb.push(&r, nil, true); perr != nil {
			delete(s.calls, sess)
		}
		return
	}
	if timeout > 0 {
		p.timer = time.AfterFunc(timeout, func() {
			t := Message{Kind: kindTimeout, To: s.id, Session: sess}
			_ = s.mb.push(&t, nil, true) // a dead service has already failed p
		})
	}
}

// Call sends cmd to the service to and waits for the reply or the end of
// ctx. While it waits, this service keeps handling its other messages in
// order (see the package doc's deadlock rule), so A→B→A does not deadlock.
func (s *Service) Call(ctx context.Context, to ServiceID, cmd string, args ...any) ([]any, error) {
	if s.parked >= maxCallDepth {
		return nil, fmt.Errorf("calling %q on %v with %d handlers suspended: %w", cmd, to, s.parked, ErrCallDepth)
	}
	ctx, cancel := s.callCtx(ctx)
	if cancel != nil {
		defer cancel()
	}
	dl, _ := ctx.Deadline()
	if !dl.IsZero() && !time.Now().Before(dl) {
		// Nothing is sent: the caller learns at once that it did not run.
		return nil, fmt.Errorf("calling %q on %v: %w (%w)", cmd, to, ErrCallTimeout, context.DeadlineExceeded)
	}
	sess := s.core.session.Add(1)
	p := &pendingCall{remote: !s.core.IsLocal(to)}
	m := Message{Kind: KindCall, From: s.id, To: to, Session: sess, Cmd: cmd, Deadline: dl}
	if err := s.core.routeFrom(s, &m, args); err != nil {
		return nil, err
	}
	s.calls[sess] = p
	return s.waitCall(ctx, sess, p, &m)
}
