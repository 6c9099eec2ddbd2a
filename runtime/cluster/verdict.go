package cluster

import (
	"fmt"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/transport"
)

// heldGrace bounds how long Calls pending on a node the master reported
// down stay pending while the direct link to it is up: their own deadlines
// normally end them long before.
const heldGrace = 30 * time.Second

// heldNode is a node the master reported down while this node's direct link
// to it was still up.
type heldNode struct {
	peer  *transport.Peer
	until time.Time
}

// verdictLocked applies the master's "down" for node id. The master may be
// the one cut off (a partitioned master declares everyone down), so if this
// node's direct link to id is still up, the Calls pending on id stay
// pending until that link fails, their replies come or their deadlines
// pass; only new messages to id fail (its route is dropped and the view has
// it down, its names removed). Otherwise id is marked down at once. c.mu is
// held.
func (c *Cluster) verdictLocked(id uint16, e *effects) {
	_, drained := c.lateFail[id]
	if d := c.draining.Load(); id == MasterID || id == uint16(c.ID()) || drained || d != nil && (*d)[id] {
		c.markDownLocked(id, e) // a draining node's links are handled there
		return
	}
	r, ok := c.routes.Load(id)
	p, isPeer := r.(*transport.Peer)
	if !ok || !isPeer || p == c.master || p.Conn() == nil {
		c.markDownLocked(id, e)
		return
	}
	c.routes.Delete(id) // new messages resolve again, through the view: down
	if _, dup := c.held[id]; !dup {
		c.log.V(1).Info("Master reports node down; its direct link is up: pending calls stay", "node", id)
		c.held[id] = heldNode{peer: p, until: c.opts.Now().Add(heldGrace)}
	}
}

// nodeBackLocked forgets what was remembered about node id being down: it
// is up again (its link, if held, is reused). If it had drained and left,
// its old process is gone for sure: what still waits on it fails now,
// before new work can reach the new one. c.mu is held.
func (c *Cluster) nodeBackLocked(id uint16, e *effects) {
	delete(c.held, id)
	if _, ok := c.lateFail[id]; ok {
		delete(c.lateFail, id)
		e.down = append(e.down, id)
	}
	for name, n := range c.gone {
		if n == id {
			delete(c.gone, name)
		}
	}
}

// expireHeld fails the Calls still pending on held nodes whose grace has
// passed and closes their links.
func (c *Cluster) expireHeld(now time.Time) {
	var e effects
	c.mu.Lock()
	for id, h := range c.held {
		if now.Before(h.until) {
			continue
		}
		delete(c.held, id)
		e.close = append(e.close, h.peer)
		e.down = append(e.down, id)
	}
	c.mu.Unlock()
	if len(e.close) > 0 {
		c.runEffects(e)
	}
}

// LookupNow implements core.QuickRegistry: it answers from the local view
// without waiting. A known name is answered (ErrNodeDraining if its node is
// leaving); a name that a node-down removed fails at once with
// core.ErrNodeDown while that node is still down; any other unknown name is
// not done (Lookup waits for it).
func (c *Cluster) LookupNow(name string) (core.ServiceID, bool, error) {
	if svc, ok := c.view.Lookup(name); ok { // the view's snapshot: no lock
		id, err := c.lookedUp(name, svc)
		return id, true, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if svc, ok := c.view.Lookup(name); ok { // added since the first look
		id, err := c.lookedUp(name, svc)
		return id, true, err
	}
	if err := c.goneLocked(name); err != nil {
		return 0, true, err
	}
	return 0, false, nil
}

// goneLocked returns an error wrapping core.ErrNodeDown if name was removed
// because its node went down and that node is still down. c.mu is held.
func (c *Cluster) goneLocked(name string) error {
	id, ok := c.gone[name]
	if !ok {
		return nil
	}
	if n, known := c.view.Node(id); known && n.Up {
		return nil
	}
	return fmt.Errorf("looking up %q: its node %d is down: %w", name, id, core.ErrNodeDown)
}

// replyLink returns a live link to node for a reply when the view has the
// node down: the connection it opened to this node (its request came that
// way), or this node's own connected link to it.
func (c *Cluster) replyLink(node uint16) (sender, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn := c.inbound[node]; conn != nil && !isDone(conn) {
		return conn, true
	}
	for _, p := range c.tr.Peers() {
		if conn := p.Conn(); p != c.master && conn != nil && conn.Remote().ID == node && !isDone(conn) {
			return p, true
		}
	}
	return nil, false
}
