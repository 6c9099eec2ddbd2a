package core_test

import (
	"testing"

	"github.com/lotou-io/lotou/runtime/core"
)

func TestServiceID(t *testing.T) {
	tests := []struct {
		node core.NodeID
		seq  uint64
		str  string
	}{
		{0, 0, "0:0"},
		{1, 42, "1:42"},
		{0xffff, 1<<32 - 1, "65535:4294967295"},
		{3, 907<<32 | 5, "3:5@907"},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			id := core.MakeID(tt.node, tt.seq)
			if id.Node() != tt.node || id.Seq() != tt.seq || id.String() != tt.str {
				t.Fatalf("MakeID(%d,%d) = %v (node %d seq %d)", tt.node, tt.seq, id, id.Node(), id.Seq())
			}
			if id.IsNodeID() != (tt.seq&(1<<32-1) == 0) {
				t.Fatalf("IsNodeID = %v", id.IsNodeID())
			}
		})
	}
}

func TestIDsNotReusedAndLocal(t *testing.T) {
	c := newCore(t, func(o *core.Options) { o.Node = 7 })
	seen := map[core.ServiceID]bool{}
	for range 5 {
		s := spawn(t, c, "", func(*core.Service) error { return nil })
		if seen[s.ID()] {
			t.Fatalf("id %v reused", s.ID())
		}
		seen[s.ID()] = true
		if !c.IsLocal(s.ID()) || s.ID().Node() != 7 {
			t.Fatalf("id %v not local to node 7", s.ID())
		}
		s.Exit()
		eventually(t, "service exit", func() bool { return c.Services() == 0 })
	}
	if c.IsLocal(core.MakeID(8, 1)) {
		t.Fatal("node 8 id reported local")
	}
}
