package cluster

import (
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// state returns how n lists the node called name: "up", "down" or "" (not
// listed at all).
func (n *testNode) state(name string) string {
	for _, e := range n.cl.Nodes() {
		if e.Name == name {
			if e.Up {
				return "up"
			}
			return "down"
		}
	}
	return ""
}

// TestNodeTableCleanup: a node that leaves gracefully disappears from every
// node table; one that dies is listed down, then removed after the
// retention.
func TestNodeTableCleanup(t *testing.T) {
	const retain = 300 * time.Millisecond
	m := startNode(t, contract.RoleMaster, "m", "127.0.0.1:0", "", func(o *Options) { o.DownRetention = retain })
	a := startNode(t, contract.RoleSlave, "a", "127.0.0.1:0", m.cl.Addr())
	b := startNode(t, contract.RoleSlave, "b", "127.0.0.1:0", m.cl.Addr())
	c := startNode(t, contract.RoleSlave, "c", "127.0.0.1:0", m.cl.Addr())
	for _, n := range []*testNode{m, a, b, c} {
		eventually(t, n.cl.Name()+" sees 4 nodes", 2*time.Second, func() bool { return len(n.upNodes()) == 4 })
	}

	t.Run("graceful leave removes", func(t *testing.T) {
		b.stop()
		for _, n := range []*testNode{m, a, c} {
			eventually(t, n.cl.Name()+" forgets b", 2*time.Second, func() bool { return n.state("b") == "" })
			if v := n.cl.View(); len(v.Nodes) != 3 {
				t.Fatalf("%s view %+v", n.cl.Name(), v.Nodes)
			}
		}
	})

	t.Run("death shows down then removes", func(t *testing.T) {
		c.crash()
		for _, n := range []*testNode{m, a} {
			eventually(t, n.cl.Name()+" sees c down", 2*time.Second, func() bool { return n.state("c") == "down" })
		}
		for _, n := range []*testNode{m, a} {
			eventually(t, n.cl.Name()+" removes c", 3*time.Second, func() bool { return n.state("c") == "" })
		}
	})
}
