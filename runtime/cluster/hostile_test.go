package cluster

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/transport"
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

// TestLargeNodeTable: registrations with long node names and addresses
// (which a token holder can make by the thousand, each listed for the down
// retention) make a node table larger than one frame. The welcome must
// still reach a joining node: its Nodes go in pages like its Names, in any
// mix of the two.
func TestLargeNodeTable(t *testing.T) {
	nodes := func(n int) []NodeEntry {
		var out []NodeEntry
		for i := range n {
			out = append(out, NodeEntry{ID: uint16(i + 2), Name: fmt.Sprintf("%0253d", i),
				Addr: fmt.Sprintf("%0300d:4000", i), Role: "slave", Inc: uint64(i)})
		}
		return out
	}
	names := func(n int) []NameEntry {
		var out []NameEntry
		for i := range n {
			out = append(out, NameEntry{Name: fmt.Sprintf("name-%050d", i), ID: svc(2, uint64(i+1))})
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		nodes  []NodeEntry
		names  []NameEntry
		frames int // at least
	}{
		{"many nodes, many names", nodes(20000), names(30000), 10},
		{"many nodes, few names", nodes(20000), names(3), 10},
		{"few nodes, many names", nodes(3), names(30000), 5},
		{"many nodes, no names", nodes(20000), nil, 10},
		{"one page of each", nodes(400), names(4000), 1},
		{"nothing", nil, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			welcome := &Control{Type: CtlWelcome, ID: 2, Nodes: tc.nodes, Names: tc.names}
			frames, err := encodeControl(welcome)
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) < tc.frames {
				t.Fatalf("%d frames, want at least %d", len(frames), tc.frames)
			}
			var asm assembler
			var got []*Control
			for i, f := range frames {
				if len(f) > transport.DefaultMaxFrame {
					t.Fatalf("frame %d of %d is %d bytes, above the %d limit", i, len(frames), len(f), transport.DefaultMaxFrame)
				}
				m, err := decodeControl(f)
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if got, err = asm.add(m); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			if len(got) != 1 {
				t.Fatalf("assembled %d messages, want 1", len(got))
			}
			if len(got[0].Nodes) != len(tc.nodes) || len(got[0].Names) != len(tc.names) ||
				(len(tc.nodes) > 0 && !reflect.DeepEqual(got[0].Nodes, tc.nodes)) || (len(tc.names) > 0 && !reflect.DeepEqual(got[0].Names, tc.names)) {
				t.Fatalf("assembled %d nodes and %d names, want %d and %d", len(got[0].Nodes), len(got[0].Names), len(tc.nodes), len(tc.names))
			}
		})
	}
}
