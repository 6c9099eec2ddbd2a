package cluster

import (
	"testing"
	"time"
)

// Registrations a token holder can send that today's honest nodes never
// do: the master state must not let one of them lock others out or evict
// a live node.

// TestReservationsCannotExhaustIDs: a registration reporting every id as
// held by a (down) node of an earlier master reserves them all; fresh nodes
// must still get an id rather than "no node id left".
func TestReservationsCannotExhaustIDs(t *testing.T) {
	s := NewMasterState(NodeEntry{Name: "m"}, timeout)
	evil := reg("evil", 7)
	for id := MasterID + 1; id != 0; id++ {
		evil.Nodes = append(evil.Nodes, NodeEntry{ID: id, Name: "ghost", Role: "slave"})
	}
	if id, _ := s.Register(t0, evil); id != 7 {
		t.Fatalf("evil got id %d, want 7", id)
	}
	for i, name := range []string{"a", "b", "c"} {
		now := t0.Add(time.Duration(i+1) * time.Second)
		id, outs := s.Register(now, reg(name, 0))
		if id == 0 {
			t.Fatalf("%s refused: %q", name, outs[0].Msg.Err)
		}
		if id == 7 || id == MasterID {
			t.Fatalf("%s got id %d, held by a live node", name, id)
		}
	}
}

// TestIncarnationZeroCannotEvict: a live, heartbeating node keeps its name
// against a newcomer that gives no incarnation (0), whatever its role and
// whatever id it asks for (before, it took the name, the live node took it
// back on reconnecting, and so on: flapping).
func TestIncarnationZeroCannotEvict(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  *Control
	}{
		{"slave asking for the live node's id", &Control{Type: CtlRegister, ID: 2, Name: "a", Addr: "x:1", Role: "slave"}},
		{"slave asking for no id", &Control{Type: CtlRegister, Name: "a", Addr: "x:1", Role: "slave"}},
		{"client under the live node's name", &Control{Type: CtlRegister, Name: "a", Role: RoleClient}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMasterState(NodeEntry{Name: "m"}, timeout)
			live := reg("a", 0, NameEntry{Name: "bank", ID: svc(2, 1)})
			live.Inc = 0xa1
			if id, _ := s.Register(t0, live); id != 2 {
				t.Fatalf("live node got id %d, want 2", id)
			}
			now := t0.Add(time.Second)
			s.Heartbeat(now, 2)
			id, outs := s.Register(now, tc.req)
			if id != 0 {
				t.Fatalf("newcomer without incarnation got id %d, outputs %v", id, types(outs))
			}
			if m, ok := s.Member(2); !ok || !m.Up || m.Inc != 0xa1 {
				t.Fatalf("live node after the newcomer: %+v, listed %v", m, ok)
			}
			if got := s.Names(); len(got) != 1 || got[0].Name != "bank" {
				t.Fatalf("names after the newcomer: %v", got)
			}
		})
	}
}
