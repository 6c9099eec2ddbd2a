package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// DefaultMailboxSize is the mailbox capacity used when Options.MailboxSize
// is zero.
const DefaultMailboxSize = 1024

// Options configures a Core. The zero value is a standalone node 0 with a
// discarding logger.
type Options struct {
	// Node is this node's id, the high 16 bits of every local ServiceID.
	Node NodeID
	// Logger receives the core's logs; the zero value discards.
	Logger logr.Logger
	// MailboxSize is the default per-service mailbox capacity.
	MailboxSize int
	// Registry holds global names; nil means a LocalRegistry whose changes
	// are published as events to subscribers.
	Registry Registry
	// Remote carries messages to other nodes; nil means every remote target
	// fails with ErrNodeDown. It can also be set later with SetRemote.
	Remote Remote
	// RegistryTimeout bounds the Registry calls the core makes on its own
	// (releasing a stopped service's name); default 5s.
	RegistryTimeout time.Duration
	// StopTimeout bounds the graceful stop run by Run when its ctx ends;
	// default 10s.
	StopTimeout time.Duration
	// CallTimeout bounds a Call whose ctx has no deadline of its own, so a
	// lost reply can never block a caller forever; 0 means no default bound.
	CallTimeout time.Duration
	// Incarnation tells this process apart from earlier ones under the same
	// Node (the cluster picks it); it goes into every id the core hands out,
	// and messages for another incarnation are refused with ErrStaleID.
	Incarnation Incarnation
}

// Core routes messages between the services of one node and, through
// Remote, to other nodes. Create it with New; it is safe for concurrent use.
type Core struct {
	node     NodeID
	inc      Incarnation
	self     ServiceID
	log      logr.Logger
	mbSize   int
	regTO    time.Duration
	stopTO   time.Duration
	callTO   time.Duration
	local    *LocalRegistry // "." names
	registry atomic.Pointer[registryBox]
	remote   atomic.Pointer[remoteBox]

	seq      atomic.Uint64 // service counter
	session  atomic.Uint64 // session numbers
	stopping atomic.Bool
	lifeMu   sync.Mutex // orders service starts against Stop
	table    table
	pending  pendingRemote
	wg       sync.WaitGroup

	subMu sync.RWMutex
	subs  []*Service

	drops     drops
	hookOnce  sync.Once
	hooksLeft atomic.Int64  // services whose stop hooks have not run yet
	hooksDone chan struct{} // closed when hooksLeft reaches 0
}

type registryBox struct{ r Registry }
type remoteBox struct{ r Remote }

// New returns a Core configured by opts.
func New(opts Options) (*Core, error) {
	if opts.MailboxSize < 0 {
		return nil, fmt.Errorf("creating core: negative MailboxSize %d", opts.MailboxSize)
	}
	if opts.Incarnation > MaxIncarnation {
		return nil, fmt.Errorf("creating core: incarnation %d above %d", opts.Incarnation, MaxIncarnation)
	}
	c := &Core{
		node:      opts.Node,
		inc:       opts.Incarnation,
		self:      MakeIncID(opts.Node, opts.Incarnation, 0),
		hooksDone: make(chan struct{}),
		log:       opts.Logger,
		mbSize:    opts.MailboxSize,
		regTO:     opts.RegistryTimeout,
		stopTO:    opts.StopTimeout,
		callTO:    opts.CallTimeout,
		local:     NewLocalRegistry(),
	}
	if c.log.GetSink() == nil {
		c.log = logr.Discard()
	}
	if c.mbSize == 0 {
		c.mbSize = DefaultMailboxSize
	}
	if c.regTO <= 0 {
		c.regTO = 5 * time.Second
	}
	if c.stopTO <= 0 {
		c.stopTO = 10 * time.Second
	}
	reg := opts.Registry
	if reg == nil {
		lr := NewLocalRegistry()
		lr.OnChange = c.Publish
		reg = lr
	}
	c.registry.Store(&registryBox{r: reg})
	if opts.Remote != nil {
		c.remote.Store(&remoteBox{r: opts.Remote})
	}
	c.table.init()
	c.pending.init()
	return c, nil
}

// Node returns this node's id.
func (c *Core) Node() NodeID { return c.node }

// Incarnation returns the incarnation tag of this process's ids.
func (c *Core) Incarnation() Incarnation { return c.inc }

// ID returns the node's own id (counter 0): the sender of messages sent by
// code outside any service.
func (c *Core) ID() ServiceID { return c.self }

// IsLocal reports whether id lives on this node.
func (c *Core) IsLocal(id ServiceID) bool { return id.Node() == c.node }

// SetRemote plugs (or, with nil, unplugs) the cluster's delivery hook.
func (c *Core) SetRemote(r Remote) {
	if r == nil {
		c.remote.Store(nil)
		return
	}
	c.remote.Store(&remoteBox{r: r})
}

// SetRegistry replaces the global-name registry. Set it before starting
// services with global names.
func (c *Core) SetRegistry(r Registry) {
	if r != nil {
		c.registry.Store(&registryBox{r: r})
	}
}

// Registry returns the global-name registry in use.
func (c *Core) Registry() Registry { return c.registry.Load().r }

// Send delivers a one-way message from outside any service. It never
// blocks: a full mailbox returns ErrMailboxFull.
func (c *Core) Send(to ServiceID, cmd string, args ...any) error {
	if c.stopping.Load() {
		return fmt.Errorf("sending %q to %v: %w", cmd, to, ErrStopped)
	}
	return c.send(context.Background(), c.self, to, cmd, args, false)
}

// SendWait is Send that waits for room in a full local mailbox until ctx
// ends.
func (c *Core) SendWait(ctx context.Context, to ServiceID, cmd string, args ...any) error {
	if c.stopping.Load() {
		return fmt.Errorf("sending %q to %v: %w", cmd, to, ErrStopped)
	}
	return c.send(ctx, c.self, to, cmd, args, true)
}

// SendInt is Send with one int argument that is never boxed: a handler
// whose only parameter (after an optional *Context) is an int gets it
// without an allocation; any other handler gets it as an any, boxed on its
// service goroutine. It exists for streams of small messages (counters,
// ids, ticks) where the boxing is most of the cost.
func (c *Core) SendInt(to ServiceID, cmd string, n int) error {
	if c.stopping.Load() {
		return fmt.Errorf("sending %q to %v: %w", cmd, to, ErrStopped)
	}
	return c.sendInt(context.Background(), c.self, to, cmd, n, false)
}

// SendWaitInt is SendInt that waits for room in a full local mailbox until
// ctx ends.
func (c *Core) SendWaitInt(ctx context.Context, to ServiceID, cmd string, n int) error {
	if c.stopping.Load() {
		return fmt.Errorf("sending %q to %v: %w", cmd, to, ErrStopped)
	}
	return c.sendInt(ctx, c.self, to, cmd, n, true)
}

// Call sends cmd to the service to and blocks the calling goroutine until
// the reply or the end of ctx (ErrCallTimeout). It is for code outside any
// service; inside a handler use Context.Call, which keeps the service
// serving while it waits.
func (c *Core) Call(ctx context.Context, to ServiceID, cmd string, args ...any) ([]any, error) {
	if c.stopping.Load() {
		return nil, fmt.Errorf("calling %q on %v: %w", cmd, to, ErrStopped)
	}
	w := getWaiter()
	m := Message{Kind: KindCall, From: c.self, To: to, Cmd: cmd}
	if c.IsLocal(to) {
		m.w = w
		if err := c.route(&m, args, false); err != nil {
			putWaiter(w)
			return nil, err
		}
	} else {
		m.Session = c.session.Add(1)
		if d, ok := ctx.Deadline(); ok {
			m.Deadline = d
		} else if c.callTO > 0 {
			m.Deadline = time.Now().Add(c.callTO)
		}
		c.pending.add(m.Session, pendingEntry{node: to.Node(), w: w})
		if err := c.deliverRemote(&m, args); err != nil {
			if _, ok := c.pending.take(m.Session); ok {
				putWaiter(w)
			} // else FailNode took the entry and completes w: it must not go back to the pool
			return nil, err
		}
	}
	return c.wait(ctx, w, &m)
}

// wait blocks until w completes or ctx ends.
func (c *Core) wait(ctx context.Context, w *waiter, m *Message) ([]any, error) {
	if w.spin() {
		ret, err := w.ret, w.err
		putWaiter(w)
		return ret, err
	}
	if _, ok := ctx.Deadline(); !ok && c.callTO > 0 {
		// Only calls that did not finish while spinning pay for the timer.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.callTO)
		defer cancel()
	}
	if done := ctx.Done(); done != nil {
		select {
		case <-w.ch:
		case <-done:
			if m.Session != 0 {
				c.pending.take(m.Session)
			}
			// w may still be written by a late reply: it is not returned to the pool.
			return nil, fmt.Errorf("calling %q on %v: %w (%w)", m.Cmd, m.To, ErrCallTimeout, ctx.Err())
		}
	} else {
		<-w.ch
	}
	ret, err := w.ret, w.err
	putWaiter(w)
	return ret, err
}

// Lookup returns the id of the service holding name (local "." names on
// this node, other names through the Registry).
func (c *Core) Lookup(ctx context.Context, name string) (ServiceID, error) {
	if IsLocalName(name) {
		return c.local.Lookup(ctx, name)
	}
	return c.Registry().Lookup(ctx, name)
}

// Close asks the service id to stop: gracefully (it first handles what was
// queued before the notice) or, with force, at once (queued messages that
// expect a reply fail with ErrStopped). Remote ids are closed through Remote.
func (c *Core) Close(id ServiceID, force bool) error {
	m := Message{Kind: KindClose, From: c.self, To: id}
	return c.route(&m, []any{force}, true)
}

// Publish broadcasts a cluster event to every subscribed service. The
// cluster calls it when names or nodes change. Each subscriber holds at most
// as many undelivered events as its mailbox capacity; beyond that an event
// is dropped and counted (DropEventOverflow), so a slow subscriber cannot
// make the node's memory grow.
func (c *Core) Publish(ev Event) {
	c.subMu.RLock()
	subs := c.subs
	c.subMu.RUnlock()
	for _, s := range subs {
		if s.events.Add(1) > int64(s.mb.size) {
			s.events.Add(-1)
			c.Drop(DropEventOverflow)
			continue
		}
		m := Message{Kind: KindEvent, From: c.self, To: s.id}
		if err := s.mb.push(&m, []any{ev}, true); err != nil {
			s.events.Add(-1)
			c.log.V(1).Info("Event not delivered", "service", s.id, "err", err)
		}
	}
}

// Stop stops every service in an order that lets stop hooks use other
// services: first the core refuses new messages and Calls from outside
// (Send, Call, Spawn), then every service handles what is queued and runs
// its stop hooks while all services still serve each other, and only when
// every hook has run are the mailboxes closed; each service then drains
// and exits. Stop returns when every service goroutine has exited or ctx
// ends; on ctx end the remaining services are force-stopped and the ctx
// error is returned. Stop is idempotent.
func (c *Core) Stop(ctx context.Context) error {
	c.lifeMu.Lock()
	c.stopping.Store(true)
	c.lifeMu.Unlock()
	c.hookOnce.Do(c.startHooks)
	select {
	case <-c.hooksDone:
	case <-ctx.Done():
		c.table.each(func(s *Service) { s.mb.kill() })
		return fmt.Errorf("stopping core: running stop hooks: %w", ctx.Err())
	}
	c.table.each(func(s *Service) { s.mb.close() })
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		c.table.each(func(s *Service) { s.mb.kill() })
		return fmt.Errorf("stopping core: %w", ctx.Err())
	}
}

// startHooks asks every service to run its stop hooks after what is queued;
// hooksDone closes when all have.
func (c *Core) startHooks() {
	c.hooksLeft.Store(1)
	c.table.each(func(s *Service) {
		c.hooksLeft.Add(1)
		m := Message{Kind: kindStop, From: c.self, To: s.id}
		if err := s.mb.push(&m, nil, true); err != nil {
			c.hookDone() // already stopped: its hooks ran in its shutdown
		}
	})
	c.hookDone()
}

// hookDone counts one service whose stop hooks have run (or never will).
func (c *Core) hookDone() {
	if c.hooksLeft.Add(-1) == 0 {
		close(c.hooksDone)
	}
}

// Run blocks until ctx ends, then stops the core within
// Options.StopTimeout.
func (c *Core) Run(ctx context.Context) error {
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.stopTO)
	defer cancel()
	return c.Stop(sctx)
}

// Services returns the number of running services.
func (c *Core) Services() int { return c.table.count() }
