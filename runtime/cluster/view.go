package cluster

import (
	"maps"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/lotou-io/lotou/runtime/core"
)

// View is a node's cached copy of the cluster: members and global names, as
// pushed by the master (or a discovery backend). Like MasterState it is a
// plain state machine: Apply takes a control message and returns the events
// it implies. One goroutine at a time may change it or read its members;
// Lookup, the hot path, is safe at any time from any number of goroutines:
// it reads an immutable snapshot of the name table (see nametable.go),
// published once per applied message, without a lock.
type View struct {
	nodes map[uint16]NodeEntry
	names nameEdit
	snap  atomic.Pointer[nameTable]
	dirty bool // names changed since the last publish
}

// NewView returns an empty view.
func NewView() *View {
	v := &View{nodes: map[uint16]NodeEntry{}, names: newNameEdit()}
	v.snap.Store(v.names.table())
	return v
}

// Apply updates the view with a message from the master and returns the
// resulting events, in order. The names it changes are published to Lookup
// together, when it returns.
func (v *View) Apply(c *Control) []core.Event {
	defer v.publish()
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
		if old, ok := v.names.get(c.Name); ok && old == c.Service {
			v.names.del(c.Name)
			v.dirty = true
			return []core.Event{nameEvent(core.EventNameRemoved, c.Name, old)}
		}
	}
	return nil
}

// publish makes the names changed by this batch visible to Lookup and ends
// the batch's edit generation.
func (v *View) publish() {
	if !v.dirty {
		return
	}
	v.snap.Store(v.names.table())
	v.names.seal()
	v.dirty = false
}

// addName binds name to svc and appends the resulting events to evs.
func (v *View) addName(evs []core.Event, name string, svc uint64) []core.Event {
	old, ok := v.names.set(name, svc)
	if ok && old == svc {
		return evs
	}
	v.dirty = true
	if ok {
		evs = append(evs, nameEvent(core.EventNameRemoved, name, old))
	}
	return append(evs, nameEvent(core.EventNameAdded, name, svc))
}

func nameEvent(t core.EventType, name string, svc uint64) core.Event {
	id := core.ServiceID(svc)
	return core.Event{Type: t, Name: name, ID: id, Node: id.Node()}
}

func (v *View) nodeDown(id uint16) []core.Event {
	var evs []core.Event
	var gone []NameEntry
	v.names.root.each(func(name string, svc uint64) {
		if uint16(core.ServiceID(svc).Node()) == id {
			gone = append(gone, NameEntry{Name: name, ID: svc})
		}
	})
	slices.SortFunc(gone, compareNames)
	for _, n := range gone {
		v.names.del(n.Name)
		v.dirty = true
		evs = append(evs, nameEvent(core.EventNameRemoved, n.Name, n.ID))
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
	old := v.names
	v.names.reset()
	for _, n := range names {
		v.names.set(n.Name, n.ID)
	}
	v.dirty = true
	for _, n := range old.sorted() {
		if svc, _ := v.names.get(n.Name); svc != n.ID {
			evs = append(evs, nameEvent(core.EventNameRemoved, n.Name, n.ID))
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
		if svc, _ := old.get(n.Name); svc != n.ID {
			evs = append(evs, nameEvent(core.EventNameAdded, n.Name, n.ID))
		}
	}
	v.nodes = newNodes
	return evs
}

// Lookup returns the service holding a global name. It takes no lock and
// may run concurrently with Apply: it sees the names as of the last
// message applied.
func (v *View) Lookup(name string) (uint64, bool) {
	return v.snap.Load().lookup(name)
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
func (v *View) Names() []NameEntry { return v.names.sorted() }

// sorted returns the names sorted by name.
func (e *nameEdit) sorted() []NameEntry {
	out := make([]NameEntry, 0, e.size)
	e.root.each(func(name string, svc uint64) { out = append(out, NameEntry{Name: name, ID: svc}) })
	slices.SortFunc(out, compareNames)
	return out
}

func compareNames(a, b NameEntry) int { return strings.Compare(a.Name, b.Name) }
