package cluster

import (
	"fmt"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/transport"
)

// effects are what a state change asks of the core; they run after c.mu is
// released.
type effects struct {
	events []core.Event
	down   []uint16          // nodes whose pending calls fail now
	close  []*transport.Peer // links of held or drained nodes to close
}

func (c *Cluster) runEffects(e effects) {
	for _, p := range e.close {
		p.Close()
	}
	k := c.core.Load()
	for _, id := range e.down {
		c.forgetRoute(id)
		if k != nil {
			k.FailNode(core.NodeID(id), fmt.Errorf("node %d left the cluster: %w", id, core.ErrNodeDown))
		}
	}
	if k == nil {
		return
	}
	for _, ev := range e.events {
		k.Publish(ev)
	}
}

// applyLocked applies a master message to the local view and collects the
// resulting effects. c.mu is held.
func (c *Cluster) applyLocked(m *Control, e *effects) {
	evs := c.view.Apply(m)
	e.events = append(e.events, evs...)
	for _, ev := range evs {
		switch ev.Type {
		case core.EventNodeDown:
			c.verdictLocked(uint16(ev.Node), e)
		case core.EventNodeUp:
			c.routes.Delete(uint16(ev.Node)) // its address may have changed
			c.nodeBackLocked(uint16(ev.Node), e)
		case core.EventNameAdded:
			delete(c.gone, ev.Name)
			for _, w := range c.waiters[ev.Name] {
				close(w)
			}
			delete(c.waiters, ev.Name)
		case core.EventNameRemoved:
			if n, ok := c.view.Node(uint16(ev.ID.Node())); !ok || !n.Up { // removed by a node-down
				c.gone[ev.Name] = uint16(ev.ID.Node())
			}
		}
	}
	switch m.Type {
	case CtlWelcome, CtlNodeUp, CtlNodeDown:
		c.refreshDrainingLocked()
	}
}

// HandleFrame implements transport.Handler.
func (c *Cluster) HandleFrame(conn *transport.Conn, payload []byte) {
	if len(payload) == 0 {
		return
	}
	if payload[0] < ctlBase {
		c.handleData(conn, payload)
		return
	}
	if c.opts.Role != contract.RoleMaster && (conn == nil || conn.Peer() == nil || conn.Peer() != c.master) {
		// Only the master sends a node control messages: anything else is
		// dropped before it is decoded or held for assembly.
		c.log.V(1).Info("Dropping control frame not from the master", "peer", peerAddr(conn))
		return
	}
	m, err := decodeControl(payload)
	if err != nil {
		c.logDrop("Dropping control frame", "peer", peerAddr(conn), "err", err.Error())
		return
	}
	ready := []*Control{m}
	if a, ok := c.asm.Load(conn); ok || m.More || m.Type == CtlMore {
		if !ok {
			a, _ = c.asm.LoadOrStore(conn, &assembler{})
		}
		if ready, err = a.(*assembler).add(m); err != nil {
			c.logDrop("Dropping paged control message", "peer", peerAddr(conn), "err", err.Error())
			return
		}
	}
	for _, m := range ready {
		if c.opts.Role == contract.RoleMaster {
			c.masterControl(conn, m)
		} else {
			c.slaveControl(m)
		}
	}
}

// ConnUp implements transport.Handler.
func (c *Cluster) ConnUp(conn *transport.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn.Peer() == nil {
		if id := conn.Remote().ID; id != 0 {
			c.inbound[id] = conn
			c.routes.Delete(id)
			if _, drained := c.lateFail[id]; drained {
				// A drained node's replies come on this link: wait for them.
				c.lateFail[id] = c.opts.Now().Add(max(drainedGrace, c.heartbeat()))
			}
		}
		return
	}
	if conn.Peer() == c.master {
		c.masterSeen = c.opts.Now()
		reg := &Control{Type: CtlRegister, ID: uint16(c.ID()), Name: c.opts.Name, Addr: c.addr, Role: c.opts.Role, Inc: c.inc}
		for name, svc := range c.owned {
			reg.Names = append(reg.Names, NameEntry{Name: name, ID: svc})
		}
		if reg.ID != 0 {
			// A restarted master learns from us which ids the other
			// nodes hold, so it does not give them away meanwhile.
			reg.Nodes = c.view.Nodes()
		}
		frames, err := encodeControl(reg)
		for i, f := range frames {
			if i == 0 {
				err = conn.SendFirst(f)
			} else if err == nil {
				err = conn.Send(f)
			}
		}
		if err != nil {
			c.log.Error(err, "Registering with master")
		}
		c.log.Info("Connected to master", "master", c.opts.Master, "id", reg.ID, "names", len(reg.Names))
	}
}

// ConnDown implements transport.Handler.
func (c *Cluster) ConnDown(conn *transport.Conn, err error) {
	c.asm.Delete(conn)
	var e effects
	c.mu.Lock()
	switch {
	case conn.Peer() == nil:
		if id := conn.Remote().ID; c.inbound[id] == conn {
			delete(c.inbound, id)
			c.routes.Delete(id)
			if _, drained := c.lateFail[id]; drained {
				c.markDownLocked(id, &e) // its replies came on this link: fail what is left once none is open
			}
		}
		if id, ok := c.connNode[conn]; ok {
			delete(c.connNode, conn)
			if c.byNode[id] == conn {
				delete(c.byNode, id)
				c.ms.ConnLost(c.opts.Now(), id)
				if _, drained := c.lateFail[id]; drained {
					c.markDownLocked(id, &e) // its replies to this master came on this link
				}
			}
		}
	case conn.Peer() == c.master:
		if c.ready {
			c.log.Info("Lost master; reconnecting", "master", c.opts.Master, "err", errText(err))
		}
		c.ready = false
		c.markDownLocked(MasterID, &e) // calls to the master's services were in flight on it
	default:
		// A direct link to another node dropped: what was in flight is lost,
		// so calls waiting on that node fail now rather than at their deadline.
		if id := conn.Remote().ID; id != 0 && id != uint16(c.ID()) {
			c.log.V(1).Info("Lost link to node", "node", id, "addr", conn.Peer().Addr(), "err", errText(err))
			if h, ok := c.held[id]; ok && h.peer == conn.Peer() {
				delete(c.held, id) // the master said so already: now the link agrees
				e.close = append(e.close, h.peer)
			}
			c.markDownLocked(id, &e)
		}
	}
	c.mu.Unlock()
	c.runEffects(e)
}

// peerAddr names the other end of conn for logs.
func peerAddr(conn *transport.Conn) string {
	if conn == nil {
		return ""
	}
	return conn.RemoteAddr().String()
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (c *Cluster) sendConn(conn *transport.Conn, m *Control) {
	if conn == nil {
		return
	}
	if err := sendFrames(conn, m); err != nil {
		c.log.V(1).Info("Control message not sent", "peer", peerAddr(conn), "err", err.Error())
	}
}

func (c *Cluster) sendMasterLocked(m *Control) {
	if c.master == nil {
		return
	}
	if err := sendFrames(c.master, m); err != nil {
		c.log.V(1).Info("Control message to master not sent", "err", err.Error())
	}
}

// frameSender is a link control frames go out on.
type frameSender interface {
	Send(payload []byte) error
}

// sendFrames encodes m, in pages if its table is large, and queues it.
func sendFrames(s frameSender, m *Control) error {
	frames, err := encodeControl(m)
	if err != nil {
		return err
	}
	for _, f := range frames {
		if err := s.Send(f); err != nil {
			return err
		}
	}
	return nil
}

// masterControl handles a control message received by the master.
func (c *Cluster) masterControl(conn *transport.Conn, m *Control) {
	var e effects
	c.mu.Lock()
	if c.ms == nil { // not started: Start holds c.mu until the table exists
		c.mu.Unlock()
		return
	}
	now := c.opts.Now()
	from, registered := c.connNode[conn]
	switch m.Type {
	case CtlRegister:
		if registered {
			// A node registers once per connection (ConnUp). Taking more
			// would let one connection hold any number of node ids, each
			// costing a welcome with the whole table and a push to all.
			c.logDrop("Dropping second registration on a connection", "id", from, "name", m.Name, "peer", peerAddr(conn))
			c.sendConn(conn, &Control{Type: CtlRefuse, Err: fmt.Sprintf("this connection already registered node %d", from)})
			break
		}
		id, outs := c.ms.Register(now, m)
		if id == 0 {
			c.log.Info("Refused node", "name", m.Name, "addr", peerAddr(conn), "reason", outs[0].Msg.Err)
			c.sendConn(conn, outs[0].Msg)
			break
		}
		if old := c.byNode[id]; old != nil && old != conn {
			delete(c.connNode, old)
			defer old.Close()
		}
		c.byNode[id], c.connNode[conn] = conn, id
		c.log.Info("Node registered", "name", m.Name, "id", id, "addr", m.Addr, "role", m.Role, "names", len(m.Names))
		c.dispatchLocked(outs, &e)
	case CtlHeartbeat:
		if registered && !c.ms.Heartbeat(now, from) {
			c.sendConn(conn, &Control{Type: CtlNodeDown, ID: from}) // tells it to register again
		}
	case CtlNameAdd:
		if !registered { // a stale connection: answer, so nobody waits for ever
			if m.Seq != 0 {
				c.sendConn(conn, &Control{Type: CtlAck, Seq: m.Seq, Err: "this connection is not registered with the master"})
			}
			break
		}
		outs, _ := c.ms.AddName(from, m.Seq, m.Name, m.Service)
		c.dispatchLocked(outs, &e)
	case CtlNameDel:
		if registered {
			c.dispatchLocked(c.ms.DelName(from, m.Name, m.Service), &e)
		}
	case CtlDraining:
		if registered {
			c.log.Info("Node draining", "id", from)
			c.dispatchLocked(c.ms.Drain(from), &e)
		}
	case CtlLeave:
		if registered {
			c.log.Info("Node left", "id", from)
			c.dispatchLocked(c.ms.Leave(from), &e)
		}
	}
	c.mu.Unlock()
	c.runEffects(e)
}

// dispatchLocked sends the master state machine's outputs. c.mu is held.
func (c *Cluster) dispatchLocked(outs []Output, e *effects) {
	for _, o := range outs {
		if o.To != Broadcast {
			c.sendConn(c.byNode[o.To], o.Msg)
			continue
		}
		c.applyLocked(o.Msg, e)
		if o.Msg.Type == CtlNodeDown {
			if m, ok := c.ms.Member(o.Msg.ID); ok {
				c.log.Info("Node down", "id", m.ID, "name", m.Name)
			} else if o.Msg.Err == NodeGone {
				c.log.Info("Node removed from the table", "id", o.Msg.ID)
			}
		}
		frames, err := encodeControl(o.Msg)
		if err != nil {
			c.log.Error(err, "Push not encoded")
			continue
		}
		for _, id := range c.ms.UpMembers() {
			if conn := c.byNode[id]; conn != nil {
				for _, f := range frames {
					if err := conn.Send(f); err != nil {
						c.log.Info("Push to node failed", "id", id, "err", err.Error())
						break
					}
				}
			}
		}
	}
}

func (c *Cluster) masterTick(now time.Time, beat bool) {
	var e effects
	c.mu.Lock()
	c.dispatchLocked(c.ms.Tick(now), &e)
	if beat {
		hb := appendControl(nil, &Control{Type: CtlHeartbeat})
		for _, conn := range c.byNode {
			_ = conn.Send(hb)
		}
	}
	c.mu.Unlock()
	c.runEffects(e)
}

// slaveControl handles a control message from the master.
func (c *Cluster) slaveControl(m *Control) {
	var e effects
	c.mu.Lock()
	c.masterSeen = c.opts.Now()
	switch m.Type {
	case CtlWelcome:
		c.welcomeLocked(m, &e)
	case CtlRefuse:
		reason := ErrNotJoined
		if m.Code == RefuseDuplicate {
			reason = ErrDuplicateName
		}
		err := fmt.Errorf("master refused registration: %s: %w", m.Err, reason)
		c.log.Error(err, "Master refused registration")
		c.failLocked(err)
	case CtlNodeDown:
		if m.ID == uint16(c.ID()) && c.master != nil {
			c.log.Info("Master does not know this node; registering again")
			if conn := c.master.Conn(); conn != nil {
				conn.Close() // the reconnect registers
			}
			break
		}
		c.applyLocked(m, &e)
	case CtlNodeUp, CtlNameAdd, CtlNameDel:
		c.applyLocked(m, &e)
	case CtlAck:
		if p, ok := c.acks[m.Seq]; ok {
			delete(c.acks, m.Seq)
			var err error
			if m.Err != "" {
				err = &core.RemoteError{Msg: m.Err, Code: core.ErrorCode(min(m.Code, 0xff))}
			}
			p.done <- err
		}
	}
	// Heard from the master until now: handling a large table may take
	// longer than the heartbeat timeout, and that is our delay, not its.
	c.masterSeen = c.opts.Now()
	c.mu.Unlock()
	c.runEffects(e)
}

func (c *Cluster) welcomeLocked(m *Control, e *effects) {
	if c.joinErr != nil {
		return
	}
	old := uint16(c.ID())
	if old != 0 && old != m.ID {
		err := fmt.Errorf("had id %d, got %d: %w", old, m.ID, ErrIDChanged)
		c.log.Error(err, "Cannot rejoin under the old id; the node must restart")
		c.failLocked(err)
		return
	}
	if m.Err != "" {
		c.log.Info("Master refused some names", "reason", m.Err)
	}
	if m.Heartbeat > 0 && m.Heartbeat < uint64(time.Hour) {
		c.beat.Store(int64(m.Heartbeat))
	}
	if old == 0 {
		c.setSelf(m.ID)
		close(c.joined)
	}
	c.ready = true
	c.applyLocked(m, e)
	c.settleAcksLocked(m)
	c.log.Info("Registered with master", "id", m.ID, "nodes", len(m.Nodes), "names", len(m.Names))
}

// pendingName is a name registration sent to the master and not answered
// yet.
type pendingName struct {
	name string
	svc  uint64
	done chan error // buffered: the answer never blocks
}

// settleAcksLocked answers name registrations whose ack was lost with the
// connection that carried it: the registration sent every owned name again
// and the welcome's table says which the master took. Without this a
// Register waiting on a connection that dropped would wait forever.
func (c *Cluster) settleAcksLocked(welcome *Control) {
	for seq, p := range c.acks {
		if _, owned := c.owned[p.name]; !owned {
			continue // not part of the registration: its ack may still come
		}
		delete(c.acks, seq)
		p.done <- nameResult(welcome.Names, p.name, p.svc)
	}
}

// nameResult says whether table binds name to svc.
func nameResult(table []NameEntry, name string, svc uint64) error {
	for _, n := range table {
		if n.Name == name {
			if n.ID == svc {
				return nil
			}
			return &core.RemoteError{Msg: fmt.Sprintf("name %q held by %v: %v", name, core.ServiceID(n.ID), core.ErrNameTaken),
				Code: core.CodeOf(core.ErrNameTaken)}
		}
	}
	return &core.RemoteError{Msg: fmt.Sprintf("name %q refused by the master", name)}
}

// failLocked ends Join (if waiting) or Run with err.
func (c *Cluster) failLocked(err error) {
	if c.self.Load() == 0 && c.joinErr == nil {
		c.joinErr = err
		close(c.joined)
		return
	}
	select {
	case c.fatal <- err:
	default:
	}
}

func (c *Cluster) slaveTick(now time.Time, beat bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A node that did not run for a while (stopped, throttled) suspects
	// itself first: the master could not be heard meanwhile.
	if !c.lastTick.IsZero() {
		if late := now.Sub(c.lastTick) - c.heartbeat(); late > 0 {
			c.masterSeen = c.masterSeen.Add(late)
		}
	}
	c.lastTick = now
	conn := c.master.Conn()
	if conn == nil {
		return
	}
	if beat {
		c.sendConn(conn, &Control{Type: CtlHeartbeat})
	}
	if now.Sub(c.masterSeen) > contract.MissedHeartbeats*c.heartbeat() {
		c.log.Info("Master silent; reconnecting", "master", c.opts.Master, "silentFor", now.Sub(c.masterSeen).String())
		c.masterSeen = now
		conn.Close()
	}
}
