package cluster

import (
	"fmt"
	"time"
)

// Register handles a node's registration. It returns the id assigned and the
// messages to send: first the Welcome to the node, then broadcasts.
func (s *MasterState) Register(now time.Time, req *Control) (uint16, []Output) {
	if req.Name == "" {
		return 0, []Output{{Msg: &Control{Type: CtlRefuse, Err: "a node name is required"}}}
	}
	if req.Name == s.self.Name {
		return 0, []Output{{Msg: &Control{Type: CtlRefuse, Err: fmt.Sprintf("node name %q is the master's", req.Name)}}}
	}
	if m := s.liveNamesake(now, req); m != nil {
		return 0, []Output{{Msg: &Control{Type: CtlRefuse, Code: RefuseDuplicate, Err: fmt.Sprintf(
			"node name %q is held by a live node (id %d, incarnation %x, heard from %v ago)",
			req.Name, m.ID, m.Inc, now.Sub(m.lastSeen).Round(time.Millisecond))}}}
	}
	var outs []Output
	id := req.ID
	if !s.mayTake(now, id, req.Name) {
		id = s.alloc(now)
	}
	if id != 0 && req.ID != 0 {
		s.reserveKnown(now, id, req.Nodes)
	}
	delete(s.reserved, id)
	if id == 0 {
		return 0, []Output{{Msg: &Control{Type: CtlRefuse, Err: "no node id left"}}}
	}
	// The same node name under another id is an earlier incarnation: gone.
	for _, m := range s.sortedMembers() {
		if m.Name == req.Name && m.ID != id && m.Up {
			outs = append(outs, s.down(m)...)
		}
	}
	if m, ok := s.members[id]; ok && m.Up { // re-registration over a new connection
		outs = append(outs, s.dropUnlisted(id, req.Names)...)
	}
	role := req.Role
	if role != RoleClient {
		role = "slave"
	}
	s.members[id] = &member{NodeEntry: NodeEntry{ID: id, Name: req.Name, Addr: req.Addr, Role: role, Up: true, Inc: req.Inc}, lastSeen: now}
	var adds []Output
	var refused []string
	if role != RoleClient {
		adds, refused = s.addNames(id, req.Names)
	}
	welcome := &Control{Type: CtlWelcome, ID: id, Nodes: s.Nodes(), Names: s.Names(), Heartbeat: uint64(s.timeout / missedBeats)}
	if len(refused) > 0 {
		welcome.Err = fmt.Sprintf("%d names held by other nodes, first %q", len(refused), refused[0])
	}
	outs = append([]Output{{To: id, Msg: welcome}}, outs...)
	if role != RoleClient {
		outs = append(outs, Output{To: Broadcast, Msg: &Control{Type: CtlNodeUp, Nodes: []NodeEntry{s.members[id].NodeEntry}}})
	}
	return id, append(outs, adds...)
}

// dropUnlisted removes the names node id holds that names does not list
// (a re-registration says what the node holds now).
func (s *MasterState) dropUnlisted(id uint16, names []NameEntry) []Output {
	want := map[string]bool{}
	for _, n := range names {
		want[n.Name] = true
	}
	var outs []Output
	for _, name := range s.namesOf(id) {
		if !want[name] {
			svc := s.names[name]
			s.dropName(name)
			outs = append(outs, Output{To: Broadcast, Msg: &Control{Type: CtlNameDel, Name: name, Service: svc}})
		}
	}
	return outs
}

// addNames binds the names of a registration to node id. It returns one
// push for all the names added (paged on the wire if large, not one frame
// per name) and the names refused.
func (s *MasterState) addNames(id uint16, names []NameEntry) ([]Output, []string) {
	var added []NameEntry
	var refused []string
	for _, n := range names {
		switch out, err := s.setName(id, n.Name, n.ID); {
		case err != nil:
			refused = append(refused, n.Name)
		case out != nil:
			added = append(added, n)
		}
	}
	switch len(added) {
	case 0:
		return nil, refused
	case 1:
		return []Output{{To: Broadcast, Msg: &Control{Type: CtlNameAdd, Name: added[0].Name, Service: added[0].ID}}}, refused
	default:
		return []Output{{To: Broadcast, Msg: &Control{Type: CtlNameAdd, Names: added}}}, refused
	}
}

// liveNamesake returns the member that keeps req's node name against req:
// another incarnation under the same name that is up, still connected and
// heard from within the timeout. The live node keeps its name and the
// newcomer is refused; once the old one's connection is gone or it fell
// silent, the newcomer takes over (and the old one, if it comes back, is
// the one refused), so two processes never evict each other in turn.
// A member of incarnation 0 (an unknown one) keeps its name against
// nobody, and a light client (lotouctl) keeps no name against anybody: its
// name is not an identity anybody routes to. A newcomer of incarnation 0
// is refused like any other: otherwise it would evict the live node, which
// would take its name back over it, and so on for ever.
func (s *MasterState) liveNamesake(now time.Time, req *Control) *member {
	for _, m := range s.sortedMembers() {
		if m.Name == req.Name && m.Up && m.Role != RoleClient && m.Inc != 0 && m.Inc != req.Inc && !m.connLost && now.Sub(m.lastSeen) <= s.timeout {
			return m
		}
	}
	return nil
}

// mayTake reports whether a node called name may have the id it asks for:
// not the master's, not a live node's under another name, not reserved for
// another node.
func (s *MasterState) mayTake(now time.Time, id uint16, name string) bool {
	if id <= MasterID {
		return false
	}
	if m, ok := s.members[id]; ok && m.Up && m.Name != name {
		return false
	}
	r, ok := s.reserved[id]
	return !ok || r.name == name || !now.Before(r.until)
}

// reserveKnown reserves, for one timeout, the ids a re-registering node saw
// held by other nodes: they are likely to come back under them.
func (s *MasterState) reserveKnown(now time.Time, self uint16, known []NodeEntry) {
	for _, n := range known {
		if n.ID <= MasterID || n.ID == self || n.Role == RoleClient {
			continue
		}
		if _, ok := s.members[n.ID]; ok {
			continue
		}
		// A node that died before the master restarted is still listed
		// (down) by the others for the retention: its id stays out of
		// reach as long as they may hold ids of it.
		until := now.Add(s.timeout)
		if !n.Up {
			until = now.Add(s.retain)
		}
		if _, ok := s.reserved[n.ID]; !ok {
			s.reserved[n.ID] = reservation{name: n.Name, until: until}
		}
	}
}

// alloc picks an id for a fresh node: in the recovery window counted from
// the random base, else counted from the smallest ids. It skips members and
// live reservations; a down node's id is reused only when nothing else is
// left, and a reserved one after that: reservations come from what
// registering nodes report, and a node reporting every id must not lock
// everybody else out.
func (s *MasterState) alloc(now time.Time) uint16 {
	free := func(id uint16, pass int) bool {
		if id <= MasterID {
			return false
		}
		if r, ok := s.reserved[id]; ok && now.Before(r.until) && pass < 2 {
			return false
		}
		m, ok := s.members[id]
		return !ok || (pass >= 1 && !m.Up)
	}
	if now.Before(s.recoverUntil) {
		for id := s.recoverNext; id != 0 && id <= RecoverTop; id++ {
			if free(id, 0) {
				s.recoverNext = id + 1
				return id
			}
		}
	}
	// First pass: ids never used (or forgotten); second: ids of down
	// nodes; third: reserved ids.
	for pass := range 3 {
		for range 0xffff {
			id := s.next
			s.next++
			if s.next == 0 {
				s.next = MasterID + 1
			}
			if free(id, pass) {
				return id
			}
		}
	}
	return 0
}
