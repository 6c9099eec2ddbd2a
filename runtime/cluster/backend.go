package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/transport"
)

// The two seams that make discovery and delivery pluggable. The master
// registry (MasterState over the master's TCP connections) and direct TCP
// links are the built-in implementations, used when Options.Discovery and
// Options.Links are nil; runtime/etcd and runtime/nats are the optional
// peers. The routing core does not change: whatever the backends, the
// cluster is the core's Remote and Registry, and every node keeps its View.

// Discovery is a registry backend: it gives this node its id, keeps it
// listed while it lives, holds the global names and tells the cluster of
// every change.
type Discovery interface {
	// Join admits this node (self.ID is ignored) and returns the id it got.
	// Before returning it loads the current tables into feed (a CtlWelcome);
	// from then on every change reaches feed, in order, until Close.
	Join(ctx context.Context, self NodeEntry, feed Feed) (uint16, error)
	// Run keeps this node listed (liveness) and the feed flowing until ctx
	// ends. An error means the node cannot go on under its id.
	Run(ctx context.Context) error
	// AddName binds a global name to svc, one of this node's services; a
	// name held by another live service fails with core.ErrNameTaken.
	AddName(ctx context.Context, name string, svc uint64) error
	// DelName releases name if svc holds it.
	DelName(ctx context.Context, name string, svc uint64) error
	// Announce lists this node as up. Join lists it as joining (not up):
	// nobody routes to it until the cluster announces it, once its core is
	// attached and its link backend receives, so no frame sent to it is
	// lost or refused in between.
	Announce(ctx context.Context) error
	// Drain marks this node as draining (phase 1 of a graceful leave):
	// every node's feed receives its entry with Draining set and routes no
	// new work to it.
	Drain(ctx context.Context) error
	// Leave removes this node and its names at once (graceful leave).
	Leave(ctx context.Context) error
	// Close stops the backend's goroutines and releases its connection.
	Close() error
}

// Feed is where a Discovery delivers changes: the cluster applies them to
// its View exactly as if the master had pushed them.
type Feed interface {
	// Apply takes a CtlWelcome (full tables), CtlNodeUp, CtlNodeDown,
	// CtlNameAdd or CtlNameDel.
	Apply(m *Control)
	// Serving says whether the backend currently holds this node's
	// membership (Ready follows it); err says why not.
	Serving(ok bool, err error)
}

// LinkSender carries frames to one node; transport.Peer and transport.Conn
// are the TCP ones.
type LinkSender interface {
	// Encode queues one frame whose payload enc appends for v. It never
	// blocks.
	Encode(enc transport.Encoder, v any) error
	// EncodeNow is Encode for a frame somebody waits on: it may go out on
	// the calling goroutine.
	EncodeNow(enc transport.Encoder, v any) error
}

// Links is a delivery backend: data frames to other nodes go through it
// instead of direct TCP links. Control traffic (the master registry, if
// used) stays on TCP.
type Links interface {
	// Start begins receiving the frames addressed to node self.
	Start(self uint16, in LinkInput) error
	// To returns the sender for node. It is called once per node and
	// cached until the node goes down.
	To(node uint16) (LinkSender, error)
	// Close stops receiving and sends what is queued until ctx ends.
	Close(ctx context.Context) error
}

// LinkInput is what a Links backend reports to the cluster.
type LinkInput interface {
	// Frame is one data frame's payload; it is only valid during the call.
	Frame(payload []byte)
	// Lost says the backend lost its connection: what was in flight is
	// gone, so calls waiting on other nodes fail now.
	Lost(err error)
}

// ErrBackendDown means a discovery or delivery backend is unreachable; the
// error wrapping it names the backend.
var ErrBackendDown = errors.New("cluster: backend unreachable")

// discoveryFeed applies a Discovery's changes to the cluster.
type discoveryFeed struct{ c *Cluster }

func (f discoveryFeed) Apply(m *Control) {
	c := f.c
	var e effects
	c.mu.Lock()
	c.applyLocked(m, &e)
	c.mu.Unlock()
	c.runEffects(e)
}

func (f discoveryFeed) Serving(ok bool, err error) {
	c := f.c
	c.mu.Lock()
	was := c.ready
	c.ready = ok
	c.mu.Unlock()
	if was && !ok {
		c.log.Info("Discovery backend lost this node's membership", "err", errText(err))
	} else if !was && ok && c.self.Load() != 0 {
		c.log.Info("Discovery backend holds this node's membership again")
	}
}

// joinDiscovery is Join with a Discovery backend.
func (c *Cluster) joinDiscovery(ctx context.Context) (core.NodeID, error) {
	if id := c.ID(); id != 0 {
		return id, nil
	}
	self := NodeEntry{Name: c.opts.Name, Addr: c.addr, Role: c.opts.Role, Up: true, Inc: c.inc}
	id, err := c.opts.Discovery.Join(ctx, self, discoveryFeed{c})
	if err != nil {
		return 0, fmt.Errorf("joining through discovery: %w", err)
	}
	c.mu.Lock()
	c.setSelf(id)
	c.ready = true
	close(c.joined)
	c.mu.Unlock()
	c.log.Info("Joined through discovery", "id", id)
	return core.NodeID(id), nil
}

// registerDiscovery is Register with a Discovery backend.
func (c *Cluster) registerDiscovery(ctx context.Context, name string, id core.ServiceID) error {
	if err := c.opts.Discovery.AddName(ctx, name, uint64(id)); err != nil {
		return fmt.Errorf("registering %q: %w", name, err)
	}
	// The watch brings the name into the View; until it does, answer local
	// lookups for it at once.
	var e effects
	c.mu.Lock()
	c.owned[name] = uint64(id)
	c.applyLocked(&Control{Type: CtlNameAdd, Name: name, Service: uint64(id)}, &e)
	c.mu.Unlock()
	c.runEffects(e)
	return nil
}

// unregisterDiscovery is Unregister with a Discovery backend.
func (c *Cluster) unregisterDiscovery(ctx context.Context, name string, id core.ServiceID) error {
	c.mu.Lock()
	delete(c.owned, name)
	c.mu.Unlock()
	if err := c.opts.Discovery.DelName(ctx, name, uint64(id)); err != nil {
		return fmt.Errorf("unregistering %q: %w", name, err)
	}
	return nil
}

// announceDiscovery lists the node as up once it can receive (Attach).
func (c *Cluster) announceDiscovery() error {
	if c.opts.Discovery == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RegisterTimeout)
	defer cancel()
	if err := c.opts.Discovery.Announce(ctx); err != nil {
		return fmt.Errorf("announcing node %d through discovery: %w", c.ID(), err)
	}
	return nil
}

// drainDiscovery is Drain with a Discovery backend: the draining mark goes
// through the backend, and this node waits until its own feed shows it, as
// every other node's does (refreshDrainingLocked closes drainSeen).
func (c *Cluster) drainDiscovery(ctx context.Context) {
	c.mu.Lock()
	c.selfDraining = true
	c.mu.Unlock()
	// The mark is written even if ctx (the wait for it to be seen) is
	// short: the backend bounds the write itself.
	if err := c.opts.Discovery.Drain(context.WithoutCancel(ctx)); err != nil {
		c.log.Info("Draining through discovery failed; going on", "err", err.Error())
		return
	}
	select {
	case <-c.drainSeen:
	case <-ctx.Done():
		c.log.Info("Draining not seen through discovery in time; going on", "err", ctx.Err().Error())
	}
}

// leaveDiscovery is Leave with a Discovery backend.
func (c *Cluster) leaveDiscovery() {
	ctx, cancel := context.WithTimeout(context.Background(), c.heartbeat()*3)
	defer cancel()
	if err := c.opts.Discovery.Leave(ctx); err != nil {
		c.log.Info("Leaving through discovery failed; the lease will expire", "err", err.Error())
	}
	c.mu.Lock()
	clear(c.owned)
	c.ready = false
	c.mu.Unlock()
}

// attachLinks starts the delivery backend once the node id is known.
func (c *Cluster) attachLinks() error {
	if c.opts.Links == nil {
		return nil
	}
	if err := c.opts.Links.Start(uint16(c.ID()), linkInput{c}); err != nil {
		return fmt.Errorf("starting delivery backend: %w", err)
	}
	return nil
}

// closeBackends closes the delivery backend (draining until ctx ends), then
// the discovery backend.
func (c *Cluster) closeBackends(ctx context.Context) error {
	var errs []error
	if c.opts.Links != nil {
		if err := c.opts.Links.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("closing delivery backend: %w", err))
		}
	}
	if c.opts.Discovery != nil {
		if err := c.opts.Discovery.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing discovery backend: %w", err))
		}
	}
	return errors.Join(errs...)
}

// backendLink is link() with a Links backend: the View decides whether the
// node is up (discovery detects deaths), the backend carries the frames.
func (c *Cluster) backendLink(node uint16) (sender, error) {
	c.mu.Lock()
	n, ok := c.view.Node(node)
	var conn *transport.Conn
	if !ok { // a light client (lotouctl) is not on the backend: answer on the connection it opened
		if conn = c.inbound[node]; conn == nil {
			conn = c.byNode[node]
		}
	}
	c.mu.Unlock()
	switch {
	case node == uint16(c.ID()):
		return nil, fmt.Errorf("node %d is this node: %w", node, core.ErrServiceNotFound)
	case !ok && conn != nil:
		c.routes.Store(node, conn)
		return conn, nil
	case !ok:
		return nil, fmt.Errorf("node %d unknown: %w", node, core.ErrNodeDown)
	case !n.Up:
		return nil, fmt.Errorf("node %d (%s): %w", node, n.Name, core.ErrNodeDown)
	}
	s, err := c.opts.Links.To(node)
	if err != nil {
		return nil, fmt.Errorf("node %d (%s): %w", node, n.Name, err)
	}
	c.routes.Store(node, s)
	return s, nil
}

// linkInput feeds a Links backend's frames into the cluster.
type linkInput struct{ c *Cluster }

// Frame delivers a data frame locally exactly as a frame read from a TCP
// connection (handleData: undecodable calls answered, early frames refused).
func (l linkInput) Frame(payload []byte) {
	if len(payload) == 0 || payload[0] >= ctlBase {
		return // control messages never travel over a Links backend
	}
	l.c.handleData(nil, payload)
}

// Lost fails every call waiting on another node: the frames they wait on
// were in flight on the lost connection.
func (l linkInput) Lost(err error) {
	c := l.c
	var e effects
	c.mu.Lock()
	for _, n := range c.view.Nodes() {
		if n.ID != uint16(c.ID()) {
			e.down = append(e.down, n.ID)
		}
	}
	c.mu.Unlock()
	c.log.Info("Delivery backend lost; failing calls in flight", "err", errText(err))
	k := c.core.Load()
	for _, id := range e.down {
		c.routes.Delete(id)
		if k != nil {
			k.FailNode(core.NodeID(id), fmt.Errorf("delivery backend lost (%v): %w", err, core.ErrNodeDown))
		}
	}
}
