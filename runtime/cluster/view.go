package cluster

import (
	"maps"
	"slices"

	"github.com/lotou-io/lotou/runtime/core"
)

// View is a node's cached copy of the cluster: members and global names, as
// pushed by the master. Like MasterState it is a plain state machine: Apply
// takes a control message and returns the events it implies. It is not safe
// for concurrent use.
type View struct {
	nodes map[uint16]NodeEntry
	names map[string]uint64
}

// NewView returns an empty view.
func NewView() *View {
	return &View{nodes: map[uint16]NodeEntry{}, names: map[string]uint64{}}
}

// Apply updates the view with a message from the master and returns the
// resulting events, in order.
func (v *View) Apply(c *Control) []core.Event {
	switch c.Type {
	case CtlWelcome:
		return v.reset(c.Nodes, c.Names)
	case CtlNodeUp:
		var evs []core.Event
		for _, n := range c.Nodes {
			old, ok := v.nodes[n.ID]
			v.nodes[n.ID] = n
			if n.Up && (!ok || !old.Up) {
				evs = append(evs, core.Event{Type: core.EventNodeUp, Node: core.NodeID(n.ID)})
			}
		}
		return evs
	case CtlNodeDown:
		evs := v.nodeDown(c.ID)
		if c.Err == NodeGone {
			delete(v.nodes, c.ID)
		}
		return evs
	case CtlNameAdd:
		if len(c.Names) > 0 { // a batch: the names of one registration
			var evs []core.Event
			for _, n := range c.Names {
				evs = v.addName(evs, n.Name, n.ID)
			}
			return evs
		}
		return v.addName(nil, c.Name, c.Service)
	case CtlNameDel:
		if old, ok := v.names[c.Name]; ok && old == c.Service {
			delete(v.names, c.Name)
			return []core.Event{nameEvent(core.EventNameRemoved, c.Name, old)}
		}
	}
	return nil
}

// addName binds name to svc and appends the resulting events to evs.
func (v *View) addName(evs []core.Event, name string, svc uint64) []core.Event {
	old, ok := v.names[name]
	if ok && old == svc {
		return evs
	}
	if ok {
		evs = append(evs, nameEvent(core.EventNameRemoved, name, old))
	}
	v.names[name] = svc
	return append(evs, nameEvent(core.EventNameAdded, name, svc))
}

func nameEvent(t core.EventType, name string, svc uint64) core.Event {
	id := core.ServiceID(svc)
	return core.Event{Type: t, Name: name, ID: id, Node: id.Node()}
}

func (v *View) nodeDown(id uint16) []core.Event {
	var evs []core.Event
	for _, name := range slices.Sorted(maps.Keys(v.names)) {
		if svc := v.names[name]; uint16(core.ServiceID(svc).Node()) == id {
			delete(v.names, name)
			evs = append(evs, nameEvent(core.EventNameRemoved, name, svc))
		}
	}
	if n, ok := v.nodes[id]; ok && n.Up {
		n.Up = false
		v.nodes[id] = n
		evs = append(evs, core.Event{Type: core.EventNodeDown, Node: core.NodeID(id)})
	}
	return evs
}

// reset replaces the view with full tables and returns the difference as
// events.
func (v *View) reset(nodes []NodeEntry, names []NameEntry) []core.Event {
	var evs []core.Event
	newNames := make(map[string]uint64, len(names))
	for _, n := range names {
		newNames[n.Name] = n.ID
	}
	for _, name := range slices.Sorted(maps.Keys(v.names)) {
		if svc := v.names[name]; newNames[name] != svc {
			evs = append(evs, nameEvent(core.EventNameRemoved, name, svc))
		}
	}
	newNodes := make(map[uint16]NodeEntry, len(nodes))
	for _, n := range nodes {
		newNodes[n.ID] = n
	}
	for _, id := range slices.Sorted(maps.Keys(v.nodes)) {
		if old := v.nodes[id]; old.Up && !newNodes[id].Up {
			evs = append(evs, core.Event{Type: core.EventNodeDown, Node: core.NodeID(id)})
		}
	}
	for _, n := range nodes {
		if n.Up && !v.nodes[n.ID].Up {
			evs = append(evs, core.Event{Type: core.EventNodeUp, Node: core.NodeID(n.ID)})
		}
	}
	for _, n := range names {
		if v.names[n.Name] != n.ID {
			evs = append(evs, nameEvent(core.EventNameAdded, n.Name, n.ID))
		}
	}
	v.nodes, v.names = newNodes, newNames
	return evs
}

// Lookup returns the service holding a global name.
func (v *View) Lookup(name string) (uint64, bool) {
	svc, ok := v.names[name]
	return svc, ok
}

// Node returns a member's entry.
func (v *View) Node(id uint16) (NodeEntry, bool) {
	n, ok := v.nodes[id]
	return n, ok
}

// Draining reports whether node id is leaving (see CtlDraining).
func (v *View) Draining(id uint16) bool { return v.nodes[id].Draining }

// drainingSet returns the ids of the draining nodes, or nil if none.
func (v *View) drainingSet() map[uint16]bool {
	var out map[uint16]bool
	for id, n := range v.nodes {
		if n.Draining && n.Up {
			if out == nil {
				out = map[uint16]bool{}
			}
			out[id] = true
		}
	}
	return out
}

// Nodes returns the members sorted by id.
func (v *View) Nodes() []NodeEntry {
	out := make([]NodeEntry, 0, len(v.nodes))
	for _, id := range slices.Sorted(maps.Keys(v.nodes)) {
		out = append(out, v.nodes[id])
	}
	return out
}

// Names returns the global names sorted by name.
func (v *View) Names() []NameEntry {
	out := make([]NameEntry, 0, len(v.names))
	for _, name := range slices.Sorted(maps.Keys(v.names)) {
		out = append(out, NameEntry{Name: name, ID: v.names[name]})
	}
	return out
}
