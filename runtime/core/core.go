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
}

// Core routes messages between the services of one node and, through
// Remote, to other nodes. Create it with New; it is safe for concurrent use.
type Core struct {
	node     NodeID
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
}

type registryBox struct{ r Registry }
type remoteBox struct{ r Remote }

// New returns a Core configured by opts.
func New(opts Options) (*Core, error) {
	if opts.MailboxSize < 0 {
		return nil, fmt.Errorf("creating core: negative MailboxSize %d", opts.MailboxSize)
	}
	c := &Core{
		node:   opts.Node,
		self:   MakeID(opts.Node, 0),
		log:    opts.Logger,
		mbSize: opts.MailboxSize,
		regTO:  opts.RegistryTimeout,
		stopTO: opts.StopTimeout,
		callTO: opts.CallTimeout,
		local:  NewLocalRegistry(),
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
		c.pending.add(m.Session, pendingEntry{node: to.Node(), w: w})
		if err := c.deliverRemote(&m, args); err != nil {
			c.pending.take(m.Session)
			putWaiter(w)
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
// cluster calls it when names or nodes change.
func (c *Core) Publish(ev Event) {
	c.subMu.RLock()
	subs := c.subs
	c.subMu.RUnlock()
	for _, s := range subs {
		m := Message{Kind: KindEvent, From: c.self, To: s.id}
		if err := s.mb.push(&m, []any{ev}, true); err != nil {
			c.log.V(1).Info("Event not delivered", "service", s.id, "err", err)
		}
	}
}

// Stop refuses new messages from outside, asks every service to drain its
// mailbox and stop, and waits until every service goroutine has exited or
// ctx ends. On ctx end the remaining services are force-stopped and the ctx
// error is returned. Stop is idempotent.
func (c *Core) Stop(ctx context.Context) error {
	c.lifeMu.Lock()
	c.stopping.Store(true)
	c.lifeMu.Unlock()
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
