package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
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

// Flush waits until every frame queued on a connected link to another node
// has been written, or ctx ends: the replies of the work this node drained reach their
// callers before it announces that it left.
func (c *Cluster) Flush(ctx context.Context) {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		queued := 0
		for _, p := range c.tr.Peers() {
			if p.Conn() != nil { // a peer that is not connected cannot be flushed
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
// parallel, so one unreachable peer does not use up ctx for the others.
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
		if p == c.master {
			if p.Conn() == nil {
				p.Close()
				continue
			}
			var cancel context.CancelFunc
			pctx, cancel = context.WithTimeout(ctx, c.heartbeat()) // a live master reads a leave at once
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

// markDownLocked records that node id is gone or unreachable. Calls pending
// on a node that was draining fail only after a grace of one heartbeat
// interval (failLate): it answered what it accepted before leaving, and
// those replies may still be in flight on the direct link. c.mu is held.
func (c *Cluster) markDownLocked(id uint16, e *effects) {
	e.down = append(e.down, id)
	_, leaving := c.lateFail[id] // it left after draining; its links close now
	if d := c.draining.Load(); leaving || (d != nil && (*d)[id]) {
		if e.late == nil {
			e.late = map[uint16]bool{}
		}
		e.late[id] = true
		if _, ok := c.lateFail[id]; !ok {
			c.lateFail[id] = c.opts.Now().Add(c.heartbeat())
		}
	}
}

// failLate fails the calls still pending on drained nodes whose grace has
// passed.
func (c *Cluster) failLate(now time.Time) {
	var due []uint16
	c.mu.Lock()
	for id, at := range c.lateFail {
		if !now.Before(at) {
			due = append(due, id)
			delete(c.lateFail, id)
		}
	}
	c.mu.Unlock()
	k := c.core.Load()
	if k == nil {
		return
	}
	for _, id := range due {
		k.FailNode(core.NodeID(id), fmt.Errorf("node %d left the cluster after draining: %w", id, core.ErrNodeDown))
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
