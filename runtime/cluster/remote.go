package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/transport"
)

// Stats counts remote messages by core.Kind.
type Stats struct {
	// In and Out are indexed by core.Kind.
	In, Out [8]atomic.Uint64
}

// Stats returns the message counters.
func (c *Cluster) Stats() *Stats { return &c.stats }

// Deliver implements core.Remote: it encodes m straight into the send queue
// of the link to m's node and keeps nothing of it (m is lent for the call). It never waits for a slow peer: at most, for a
// call or a reply on an idle link, it writes the frame itself (~100µs bound).
func (c *Cluster) Deliver(m *core.Message) error {
	node := uint16(m.To.Node())
	if d := c.draining.Load(); d != nil && (*d)[node] && m.Kind != core.KindReply && m.Kind != core.KindClose {
		return fmt.Errorf("sending %q to node %d: %w", m.Cmd, node, core.ErrNodeDraining)
	}
	s, err := c.link(node)
	if err != nil {
		return err
	}
	if c.opts.ObserveCall != nil && (m.Kind == core.KindCall || m.Kind == core.KindRequest) {
		c.callMu.Lock()
		if len(c.callStart) > 1<<16 { // replies that never came: forget them
			clear(c.callStart)
		}
		c.callStart[m.Session] = c.opts.Now()
		c.callMu.Unlock()
	}
	err = c.send(s, m)
	if errors.Is(err, transport.ErrClosed) { // a link closed under us: resolve it again once
		c.routes.CompareAndDelete(node, s)
		if s, err = c.link(node); err != nil {
			return err
		}
		err = c.send(s, m)
	}
	if err != nil {
		return fmt.Errorf("sending to node %d: %w", node, err)
	}
	if int(m.Kind) < len(c.stats.Out) {
		c.stats.Out[m.Kind].Add(1)
	}
	return nil
}

func (c *Cluster) send(s sender, m *core.Message) error {
	if m.Kind == core.KindCall || m.Kind == core.KindReply {
		return s.EncodeNow(c.enc, m) // somebody waits: write now if the link is idle
	}
	return s.Encode(c.enc, m) // one-way traffic batches best in the write loop
}

func (c *Cluster) observeReply(session uint64) {
	c.callMu.Lock()
	start, ok := c.callStart[session]
	delete(c.callStart, session)
	c.callMu.Unlock()
	if ok {
		c.opts.ObserveCall(c.opts.Now().Sub(start))
	}
}

// link returns the sender for node: the master link, a direct (lazily
// dialled) link to the node's advertised address, or, for nodes without one
// (clients), the connection they opened to us.
func (c *Cluster) link(node uint16) (sender, error) {
	if s, ok := c.routes.Load(node); ok {
		return s.(sender), nil
	}
	if c.opts.Links != nil {
		return c.backendLink(node)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var s sender
	switch n, ok := c.view.Node(node); {
	case node == uint16(c.ID()):
		return nil, fmt.Errorf("node %d is this node: %w", node, core.ErrServiceNotFound)
	case node == MasterID && c.master != nil:
		s = c.master
	case ok && n.Up && n.Addr != "":
		s = c.tr.Peer(n.Addr)
	case ok && !n.Up:
		return nil, fmt.Errorf("node %d (%s): %w", node, n.Name, core.ErrNodeDown)
	default:
		conn := c.inbound[node]
		if conn == nil {
			conn = c.byNode[node] // a client registered with this master
		}
		if conn == nil {
			return nil, fmt.Errorf("node %d unknown: %w", node, core.ErrNodeDown)
		}
		s = conn
	}
	c.routes.Store(node, s)
	return s, nil
}

// forgetRoute drops the cached link to node and stops re-dialling it.
func (c *Cluster) forgetRoute(node uint16) {
	s, ok := c.routes.LoadAndDelete(node)
	if !ok {
		return
	}
	if p, ok := s.(*transport.Peer); ok && p != c.master {
		p.Close()
	}
}

// ConnectedPeers returns the number of live connections (both directions).
func (c *Cluster) ConnectedPeers() int {
	n := len(c.tr.Inbound())
	for _, p := range c.tr.Peers() {
		if p.Conn() != nil {
			n++
		}
	}
	return n
}

// QueuedBytes returns, per outbound link (by peer name, else address), the
// bytes waiting in its send queue.
func (c *Cluster) QueuedBytes() map[string]int {
	out := map[string]int{}
	for _, p := range c.tr.Peers() {
		name := p.Addr()
		if conn := p.Conn(); conn != nil && conn.Remote().Name != "" {
			name = conn.Remote().Name
		}
		out[name] += p.Queued()
	}
	return out
}

// PeerStat is the traffic of one link, for metrics.
type PeerStat struct {
	// Peer names the other end: a node name or address.
	Peer string
	// Direction is "out" for links this node dialled, "in" for accepted ones.
	Direction string
	Stats     *transport.Stats
}

// PeerStats returns the traffic counters of every current link.
func (c *Cluster) PeerStats() []PeerStat {
	var out []PeerStat
	for _, p := range c.tr.Peers() {
		name := p.Addr()
		if conn := p.Conn(); conn != nil && conn.Remote().Name != "" {
			name = conn.Remote().Name
		}
		out = append(out, PeerStat{Peer: name, Direction: "out", Stats: p.Stats()})
	}
	for _, conn := range c.tr.Inbound() {
		name := conn.Remote().Name
		if name == "" {
			name = conn.RemoteAddr().String()
		}
		out = append(out, PeerStat{Peer: name, Direction: "in", Stats: conn.Stats()})
	}
	return out
}

// Register implements core.Registry: the master records the name and pushes
// it to every node. A slave waits for the master's answer until ctx ends.
func (c *Cluster) Register(ctx context.Context, name string, id core.ServiceID) error {
	if len(name) > MaxNameLen {
		return fmt.Errorf("registering a name of %d bytes (max %d): %w", len(name), MaxNameLen, core.ErrTooLarge)
	}
	if c.opts.Discovery != nil {
		return c.registerDiscovery(ctx, name, id)
	}
	if c.opts.Role == contract.RoleMaster {
		var e effects
		c.mu.Lock()
		outs, err := c.ms.AddName(MasterID, 0, name, uint64(id))
		c.dispatchLocked(outs, &e)
		c.mu.Unlock()
		c.runEffects(e)
		if err != nil {
			return fmt.Errorf("registering %q: %w", name, err)
		}
		return nil
	}
	c.mu.Lock()
	if old, ok := c.view.Lookup(name); ok && old != uint64(id) {
		c.mu.Unlock()
		return fmt.Errorf("registering %q: held by %v: %w", name, core.ServiceID(old), core.ErrNameTaken)
	}
	c.owned[name] = uint64(id) // re-registered after a master restart
	c.seq++
	seq := c.seq
	ch := make(chan error, 1)
	c.acks[seq] = pendingName{name: name, svc: uint64(id), done: ch}
	c.sendMasterLocked(&Control{Type: CtlNameAdd, Seq: seq, Name: name, Service: uint64(id)})
	c.mu.Unlock()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.RegisterTimeout)
		defer cancel()
	}
	var err error
	timedOut := false
	select {
	case err = <-ch:
	case <-ctx.Done():
		timedOut = true
		err = fmt.Errorf("no answer from master: %w (%w)", core.ErrCallTimeout, ctx.Err())
	}
	if err != nil {
		c.mu.Lock()
		delete(c.acks, seq)
		if c.owned[name] == uint64(id) {
			delete(c.owned, name)
			if timedOut { // the request may still reach the master: withdraw it
				c.sendMasterLocked(&Control{Type: CtlNameDel, Name: name, Service: uint64(id)})
			}
		}
		c.mu.Unlock()
		return fmt.Errorf("registering %q: %w", name, err)
	}
	return nil
}

// Unregister implements core.Registry.
func (c *Cluster) Unregister(ctx context.Context, name string, id core.ServiceID) error {
	if c.opts.Discovery != nil {
		return c.unregisterDiscovery(ctx, name, id)
	}
	var e effects
	c.mu.Lock()
	if c.opts.Role == contract.RoleMaster {
		c.dispatchLocked(c.ms.DelName(MasterID, name, uint64(id)), &e)
	} else if c.owned[name] == uint64(id) {
		delete(c.owned, name)
		c.sendMasterLocked(&Control{Type: CtlNameDel, Name: name, Service: uint64(id)})
	}
	c.mu.Unlock()
	c.runEffects(e)
	return nil
}

// Lookup implements core.Registry from the local cache: a known name needs
// no round trip and no lock (the View's snapshot and the draining set are
// read atomically, see lookup.go); an unknown one is waited for up to
// Options.LookupTimeout.
func (c *Cluster) Lookup(ctx context.Context, name string) (core.ServiceID, error) {
	if svc, ok := c.view.Lookup(name); ok {
		return c.lookedUp(name, svc)
	}
	c.mu.Lock()
	if svc, ok := c.view.Lookup(name); ok { // added since the first look
		c.mu.Unlock()
		return c.lookedUp(name, svc)
	}
	w := make(chan struct{})
	c.waiters[name] = append(c.waiters[name], w)
	c.mu.Unlock()
	t := time.NewTimer(c.opts.LookupTimeout)
	defer t.Stop()
	select {
	case <-w:
	case <-t.C:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.waiters[name]
	for i, x := range ws {
		if x == w {
			c.waiters[name] = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(c.waiters[name]) == 0 {
		delete(c.waiters, name)
	}
	if svc, ok := c.view.Lookup(name); ok {
		return c.lookedUp(name, svc)
	}
	return 0, fmt.Errorf("looking up %q: not registered in the cluster: %w", name, core.ErrServiceNotFound)
}
