package cluster

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// MasterID is the node id the master always takes.
const MasterID uint16 = 1

// Broadcast as Output.To means: every registered node, and the master's own
// view.
const Broadcast uint16 = 0

// Output is a control message the master state machine wants sent.
type Output struct {
	// To is the node to send Msg to, or Broadcast.
	To  uint16
	Msg *Control
}

type member struct {
	NodeEntry
	lastSeen time.Time
	connLost bool // its connection to the master closed; not re-registered since
}

// MasterState is the master's membership and global name table. It is a
// deterministic state machine: no sockets, goroutines or clocks; time comes
// in as arguments and the messages to send come out as Outputs, in order.
// It is not safe for concurrent use; its driver serialises calls.
type MasterState struct {
	timeout time.Duration
	// retain is how long a dead node stays listed down; see SetDownRetention.
	retain  time.Duration
	self    NodeEntry
	members map[uint16]*member
	names   map[string]uint64
	// nameUse is what each node's names cost, bounded by maxNames and
	// maxNameBytes (see SetNameLimits).
	nameUse      map[uint16]nameUse
	maxNames     int
	maxNameBytes int
	next         uint16
	// reserved holds ids that reconnecting nodes reported as held by other
	// nodes of the previous master's cluster; see Register.
	reserved map[uint16]reservation
	// Until recoverUntil, fresh nodes get ids from recoverNext upward; see
	// Recover.
	recoverUntil time.Time
	recoverNext  uint16
	// lastTick is when Tick last ran: a late tick means the master itself
	// stalled (see Tick).
	lastTick time.Time
}

// reservation keeps an id for the node that held it under a previous master
// until it re-registers or the reservation expires.
type reservation struct {
	name  string
	until time.Time
}

// missedBeats is contract.MissedHeartbeats, typed for arithmetic.
const missedBeats = time.Duration(contract.MissedHeartbeats)

// NewMasterState returns the state of a master described by self (its ID is
// forced to MasterID). A node silent for longer than timeout is down.
func NewMasterState(self NodeEntry, timeout time.Duration) *MasterState {
	self.ID, self.Up = MasterID, true
	return &MasterState{timeout: timeout, retain: DownRetentionBeats * timeout, self: self, members: map[uint16]*member{}, names: map[string]uint64{}, next: MasterID + 1,
		reserved: map[uint16]reservation{}, nameUse: map[uint16]nameUse{},
		maxNames: DefaultMaxNamesPerNode, maxNameBytes: DefaultMaxNameBytesPerNode}
}

// DownRetentionBeats is the default time, in heartbeat timeouts, a dead node
// stays listed down before it is removed from the node table.
const DownRetentionBeats = 20

// NodeGone is the Err of a CtlNodeDown that removes the node from the
// node table (it left gracefully, or stayed dead past the retention), not
// merely marked down.
const NodeGone = "gone"

// SetDownRetention sets how long a node that died (missed heartbeats) stays
// listed down, counted from when it was declared down, before the master
// removes it from every node table; a node that returns meanwhile is simply
// up again. A node that leaves gracefully is removed at once.
func (s *MasterState) SetDownRetention(d time.Duration) {
	if d > 0 {
		s.retain = d
	}
}

// RecoverBase bounds the ids Recover hands out: [RecoverBase, RecoverTop]
// stay two-byte uvarints on the wire and far from the small ids a cluster's
// first members get.
const (
	RecoverBase uint16 = 1 << 10
	RecoverTop  uint16 = 1<<14 - 1
)

// Recover protects the ids of a cluster that outlived its master. A master
// that (re)starts knows nothing of the slaves still running with ids from its
// previous incarnation; until they re-register, a fresh node must not be given
// one of them (the slave would then have to restart with ErrIDChanged). Until
// until, fresh nodes get ids counted from base, which the driver picks at
// random in [RecoverBase, RecoverTop]; afterwards every live slave has
// re-registered or is down, and small ids are handed out again. Ids reported
// by re-registering slaves are reserved as well (see Register).
func (s *MasterState) Recover(until time.Time, base uint16) {
	s.recoverUntil = until
	s.recoverNext = min(max(base, RecoverBase), RecoverTop)
}

// setName binds name to svc for node id. It returns the broadcast to send, if
// anything changed, or an error wrapping core.ErrNameTaken.
func (s *MasterState) setName(id uint16, name string, svc uint64) (*Output, error) {
	if core.ServiceID(svc).Node() != core.NodeID(id) {
		return nil, fmt.Errorf("name %q: service %v is not on node %d: %w", name, core.ServiceID(svc), id, core.ErrBadArgs)
	}
	if old, ok := s.names[name]; ok {
		if old == svc {
			return nil, nil
		}
		if h := s.holder(old); h != nil && h.Up {
			return nil, fmt.Errorf("name %q held by %v: %w", name, core.ServiceID(old), core.ErrNameTaken)
		}
	}
	if err := s.checkNameRoom(id, name); err != nil {
		return nil, err
	}
	s.putName(name, svc)
	return &Output{To: Broadcast, Msg: &Control{Type: CtlNameAdd, Name: name, Service: svc}}, nil
}

func (s *MasterState) holder(svc uint64) *NodeEntry {
	node := uint16(core.ServiceID(svc).Node())
	if node == MasterID {
		return &s.self
	}
	if m, ok := s.members[node]; ok {
		return &m.NodeEntry
	}
	return nil
}

// AddName registers a global name for node from (MasterID for the master's
// own services). A request with a Seq gets an Ack.
func (s *MasterState) AddName(from uint16, seq uint64, name string, svc uint64) ([]Output, error) {
	if from != MasterID {
		if m, ok := s.members[from]; !ok || !m.Up || m.Role == RoleClient {
			err := fmt.Errorf("name %q: node %d is not registered: %w", name, from, core.ErrNodeDown)
			return ackTo(from, seq, err), err
		}
	}
	out, err := s.setName(from, name, svc)
	outs := ackTo(from, seq, err)
	if out != nil {
		outs = append(outs, *out)
	}
	return outs, err
}

func ackTo(to uint16, seq uint64, err error) []Output {
	if to == MasterID || seq == 0 {
		return nil
	}
	a := &Control{Type: CtlAck, Seq: seq}
	if err != nil {
		a.Err, a.Code = err.Error(), uint64(core.CodeOf(err))
	}
	return []Output{{To: to, Msg: a}}
}

// DelName releases name if node from's service svc holds it.
func (s *MasterState) DelName(from uint16, name string, svc uint64) []Output {
	if old, ok := s.names[name]; !ok || old != svc || core.ServiceID(svc).Node() != core.NodeID(from) {
		return nil
	}
	s.dropName(name)
	return []Output{{To: Broadcast, Msg: &Control{Type: CtlNameDel, Name: name, Service: svc}}}
}

// Heartbeat records that node id is alive. It returns false if the node is
// not registered (or was declared down): it must register again.
func (s *MasterState) Heartbeat(now time.Time, id uint16) bool {
	m, ok := s.members[id]
	if !ok || !m.Up {
		return false
	}
	m.lastSeen = now
	return true
}

// ConnLost notes that node id's connection to the master closed. A crashed
// process closes its sockets, so rather than wait the whole heartbeat
// timeout the node gets one more interval to reconnect before it is down.
func (s *MasterState) ConnLost(now time.Time, id uint16) {
	m, ok := s.members[id]
	if !ok || !m.Up {
		return
	}
	m.connLost = true
	if grace := now.Add(s.timeout/missedBeats - s.timeout); grace.Before(m.lastSeen) {
		m.lastSeen = grace
	}
}

// Drain marks node id (MasterID for the master itself) as leaving: it takes
// no new work but finishes what it accepted; every node learns it from the
// pushed entry. Its names stay until it leaves.
func (s *MasterState) Drain(id uint16) []Output {
	var e NodeEntry
	switch m, ok := s.members[id]; {
	case id == MasterID:
		s.self.Draining = true
		e = s.self
	case ok && m.Up && !m.Draining:
		m.Draining = true
		e = m.NodeEntry
		if m.Role == RoleClient {
			return nil
		}
	default:
		return nil
	}
	return []Output{{To: Broadcast, Msg: &Control{Type: CtlNodeUp, Nodes: []NodeEntry{e}}}}
}

// Leave handles a graceful leave of node id: its names go and it is removed
// from the node table at once.
func (s *MasterState) Leave(id uint16) []Output {
	m, ok := s.members[id]
	if !ok || !m.Up {
		return nil
	}
	s.down(m)
	delete(s.members, id)
	if m.Role == RoleClient {
		return nil
	}
	return []Output{{To: Broadcast, Msg: &Control{Type: CtlNodeDown, ID: id, Err: NodeGone}}}
}

// Tick declares down every node silent for longer than the timeout. A
// master that was itself stalled (GC, CPU throttling: the tick comes more
// than one heartbeat interval late) suspects itself first: nobody could be
// heard while it did not run, so every node is credited the lateness
// instead of being declared down all at once.
func (s *MasterState) Tick(now time.Time) []Output {
	if !s.lastTick.IsZero() {
		if late := now.Sub(s.lastTick) - s.timeout/missedBeats; late > 0 {
			for _, m := range s.members {
				if !m.Up {
					continue
				}
				if m.lastSeen = m.lastSeen.Add(late); m.lastSeen.After(now) {
					m.lastSeen = now
				}
			}
		}
	}
	s.lastTick = now
	for id, r := range s.reserved {
		if !now.Before(r.until) {
			delete(s.reserved, id)
		}
	}
	var outs []Output
	for _, m := range s.sortedMembers() {
		switch silent := now.Sub(m.lastSeen); {
		case m.Up && silent > s.timeout:
			outs = append(outs, s.down(m)...)
		case !m.Up && silent > s.timeout+s.retain:
			delete(s.members, m.ID)
			outs = append(outs, Output{To: Broadcast, Msg: &Control{Type: CtlNodeDown, ID: m.ID, Err: NodeGone}})
		}
	}
	return outs
}

func (s *MasterState) down(m *member) []Output {
	for _, name := range s.namesOf(m.ID) {
		s.dropName(name)
	}
	if m.Role == RoleClient {
		delete(s.members, m.ID)
		return nil
	}
	m.Up = false
	return []Output{{To: Broadcast, Msg: &Control{Type: CtlNodeDown, ID: m.ID}}}
}

func (s *MasterState) namesOf(id uint16) []string {
	var out []string
	for name, svc := range s.names {
		if uint16(core.ServiceID(svc).Node()) == id {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func (s *MasterState) sortedMembers() []*member {
	ids := slices.Sorted(maps.Keys(s.members))
	out := make([]*member, len(ids))
	for i, id := range ids {
		out[i] = s.members[id]
	}
	return out
}

// Nodes returns the master and every non-client member, sorted by id.
func (s *MasterState) Nodes() []NodeEntry {
	out := []NodeEntry{s.self}
	for _, m := range s.sortedMembers() {
		if m.Role != RoleClient {
			out = append(out, m.NodeEntry)
		}
	}
	return out
}

// Names returns the global name table, sorted by name.
func (s *MasterState) Names() []NameEntry {
	out := make([]NameEntry, 0, len(s.names))
	for _, name := range slices.Sorted(maps.Keys(s.names)) {
		out = append(out, NameEntry{Name: name, ID: s.names[name]})
	}
	return out
}

// Member returns the entry of node id, clients included.
func (s *MasterState) Member(id uint16) (NodeEntry, bool) {
	m, ok := s.members[id]
	if !ok {
		return NodeEntry{}, false
	}
	return m.NodeEntry, true
}

// UpMembers returns the ids of every registered, up node, clients included:
// the recipients of broadcasts and heartbeats.
func (s *MasterState) UpMembers() []uint16 {
	var out []uint16
	for _, m := range s.sortedMembers() {
		if m.Up {
			out = append(out, m.ID)
		}
	}
	return out
}
