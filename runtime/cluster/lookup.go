package cluster

import (
	"fmt"

	"github.com/lotou-io/lotou/runtime/core"
)

// Lookups of global names are the cluster's hottest read: every Call by
// name goes through one. They take no lock. The View publishes its name
// table as an immutable snapshot (View.Lookup, nametable.go) and the set of
// draining nodes is an atomic pointer (refreshDrainingLocked), so a lookup
// is two atomic loads and a trie walk, whatever the control traffic being
// applied meanwhile under c.mu.

// lookedUp turns a name found in the View into Lookup's answer.
func (c *Cluster) lookedUp(name string, svc uint64) (core.ServiceID, error) {
	if c.drainingHolder(svc) {
		return 0, fmt.Errorf("looking up %q: held by %v: %w", name, core.ServiceID(svc), core.ErrNodeDraining)
	}
	return core.ServiceID(svc), nil
}

// drainingHolder reports whether svc lives on another node that is leaving:
// its names are not handed out any more. This node's own services stay
// reachable for its stop hooks while it drains.
func (c *Cluster) drainingHolder(svc uint64) bool {
	node := uint16(core.ServiceID(svc).Node())
	if node == uint16(c.ID()) {
		return false
	}
	d := c.draining.Load()
	return d != nil && (*d)[node]
}
