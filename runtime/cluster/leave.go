package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/transport"
)

// Drain is phase 1 of a graceful leave: it tells the master (or the
// discovery backend) that this node takes no new work, and waits until that
// has reached every node (or ctx ends). From then on other nodes fail new Calls, Requests and
// Sends to this node with core.ErrNodeDraining (lookups of its names too),
// while the work it accepted, and the replies to it, complete over the open
// links. Readiness turns false. Then stop the core (it drains), Flush, and
// Leave (phase 2).
func (c *Cluster) Drain(ctx context.Context) {
	if c.opts.Role == RoleClient {
		return // a client serves nothing
	}
	if c.opts.Discovery != nil {
		c.drainDiscovery(ctx)
		return
	}
	var e effects
	c.mu.Lock()
	c.selfDraining = true
	if c.opts.Role == contract.RoleMaster {
		c.dispatchLocked(c.ms.Drain(MasterID), &e)
	} else {
		c.sendMasterLocked(&Control{Type: CtlDraining})
	}
	c.mu.Unlock()
	c.runEffects(e)
	select {
	case <-c.drainSeen:
	case <-ctx.Done():
		c.log.Info("Draining not confirmed by the master in time; going on", "err", ctx.Err().Error())
	}
}

// Flush waits until every frame queued on a link to another node has been
// written, or ctx ends: the replies of the work this node drained reach
// their callers before it announces that it left. A link still being
// dialled (a reply is often the first frame to its caller's node) is waited
// for MissedHeartbeats heartbeats at most: an unreachable peer cannot be
// flushed.
func (c *Cluster) Flush(ctx context.Context) {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	dialing := time.Now().Add(contract.MissedHeartbeats * c.heartbeat())
	for {
		queued := 0
		for _, p := range c.tr.Peers() {
			if p.Conn() != nil || time.Now().Before(dialing) {
				queued += p.Queued()
			}
		}
		if queued == 0 {
			return
		}
		select {
		case <-ctx.Done():
			c.log.Info("Frames still queued at the drain deadline", "bytes", queued)
			return
		case <-t.C:
		}
	}
}

// Leave is phase 2 of a graceful leave: it deregisters this node's names
// and tells the master it leaves; the master removes it from every node
// table. The frames are queued; Close drains them.
func (c *Cluster) Leave() {
	if c.opts.Discovery != nil {
		c.leaveDiscovery()
		return
	}
	if c.opts.Role == contract.RoleMaster {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, svc := range c.owned {
		c.sendMasterLocked(&Control{Type: CtlNameDel, Name: name, Service: svc})
	}
	clear(c.owned)
	c.sendMasterLocked(&Control{Type: CtlLeave})
	c.ready = false
}

// Close drains what is queued until ctx ends, then closes every connection
// and waits for the transport's goroutines. Links to other nodes drain in
// parallel, and a link that is not connected when Close starts (the peer is
// unreachable, or was never dialled) is given only MissedHeartbeats
// heartbeats to connect: an unreachable peer does not use up ctx, which the
// connections other nodes opened to this one (replies to clients) still
// need to drain afterwards.
// The master link is drained only while it is connected, for at most one
// heartbeat interval: what waits on it is control traffic (the leave
// notice), and re-dialling a master that is gone until ctx ends only
// delayed the exit (a restarted master learns the members from their
// registrations, and does not miss a node that never registers again).
func (c *Cluster) Close(ctx context.Context) error {
	defer c.closeBackends(ctx) //nolint:errcheck // logged there
	var wg sync.WaitGroup
	for _, p := range c.tr.Peers() {
		pctx := ctx
		switch {
		case p == c.master:
			if p.Conn() == nil {
				p.Close()
				continue
			}
			var cancel context.CancelFunc
			pctx, cancel = context.WithTimeout(ctx, c.heartbeat()) // a live master reads a leave at once
			defer cancel()
		case p.Conn() == nil:
			var cancel context.CancelFunc
			pctx, cancel = context.WithTimeout(ctx, contract.MissedHeartbeats*c.heartbeat())
			defer cancel()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.Drain(pctx)
		}()
	}
	wg.Wait()
	if err := c.tr.Shutdown(ctx); err != nil {
		return fmt.Errorf("closing transport: %w", err)
	}
	return nil
}

// drainedGrace bounds how long Calls pending on a node that left after
// draining wait for its links to close (it closes them once its replies
// are written, so normally far sooner).
const drainedGrace = 5 * time.Second

// markDownLocked records that node id is gone or unreachable. Calls pending
// on a node that was draining do not fail while a link to or from it is
// still open: it answered what it accepted before leaving, those replies may
// still be in flight on that link (which stays open to carry them), and it
// closes its links only after writing them, so a reply always arrives
// before the link's end is seen. They fail at drainedGrace (failLate) at
// the latest. When no link is open they still wait settleGrace: a reply may
// be on a link the node dialled for it, whose handshake it finished before
// this node registered that link (one goroutine hop, but enough to see the
// node's other link end first). A link that comes up meanwhile restarts the
// grace (see ConnUp). c.mu is held.
func (c *Cluster) markDownLocked(id uint16, e *effects) {
	_, leaving := c.lateFail[id]
	if d := c.draining.Load(); leaving || (d != nil && (*d)[id]) {
		c.routes.Delete(id) // it takes nothing new
		now := c.opts.Now()
		if c.linkedLocked(id) {
			if !leaving {
				c.lateFail[id] = now.Add(max(drainedGrace, c.heartbeat()))
			}
			return
		}
		if settle := now.Add(c.settleGrace()); !leaving || c.lateFail[id].After(settle) {
			c.lateFail[id] = settle
		}
		return
	}
	e.down = append(e.down, id)
}

// settleGrace is how long Calls pending on a drained node wait for its
// replies once no link to or from it is open.
func (c *Cluster) settleGrace() time.Duration { return c.heartbeat() }

// linkedLocked reports whether a connection to or from node id is open. On
// the master that includes the node's registration connection: a slave
// sends its replies to the master on it, so they may still be in flight
// there after the master's own link to the slave has closed. c.mu is held.
func (c *Cluster) linkedLocked(id uint16) bool {
	if conn := c.inbound[id]; conn != nil && !isDone(conn) {
		return true
	}
	if conn := c.byNode[id]; conn != nil && !isDone(conn) {
		return true
	}
	for _, p := range c.tr.Peers() {
		if p == c.master {
			continue
		}
		if conn := p.Conn(); conn != nil && conn.Remote().ID == id && !isDone(conn) {
			return true
		}
	}
	return false
}

func isDone(conn *transport.Conn) bool {
	select {
	case <-conn.Done():
		return true
	default:
		return false
	}
}

// failLate fails the calls still pending on drained nodes whose links did
// not close within drainedGrace (or that had none for settleGrace), and
// closes those links.
func (c *Cluster) failLate(now time.Time) {
	var e effects
	c.mu.Lock()
	for id, at := range c.lateFail {
		if !now.Before(at) {
			delete(c.lateFail, id)
			e.down = append(e.down, id)
			for _, p := range c.tr.Peers() {
				if conn := p.Conn(); p != c.master && conn != nil && conn.Remote().ID == id {
					e.close = append(e.close, p)
				}
			}
		}
	}
	c.mu.Unlock()
	if len(e.down) > 0 {
		c.runEffects(e)
	}
}

// refreshDrainingLocked recomputes the set of draining nodes from the view
// and notices the master's confirmation of our own draining. c.mu is held.
func (c *Cluster) refreshDrainingLocked() {
	set := c.view.drainingSet()
	if set == nil {
		if c.draining.Load() != nil {
			c.draining.Store(nil)
		}
	} else {
		c.draining.Store(&set)
	}
	if c.selfDraining && set[uint16(c.ID())] {
		select {
		case <-c.drainSeen:
		default:
			close(c.drainSeen)
		}
	}
}
