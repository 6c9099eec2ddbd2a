package cluster

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

var t0 = time.Unix(1000, 0)

const timeout = 3 * time.Second

func svc(node uint16, seq uint64) uint64 { return uint64(core.MakeID(core.NodeID(node), seq)) }

func reg(name string, id uint16, names ...NameEntry) *Control {
	return &Control{Type: CtlRegister, ID: id, Name: name, Addr: name + ":4000", Role: "slave", Names: names}
}

func types(outs []Output) []CtlType {
	var ts []CtlType
	for _, o := range outs {
		ts = append(ts, o.Msg.Type)
	}
	return ts
}

func equalTypes(a, b []CtlType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestMasterRegister(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(s *MasterState)
		req       *Control
		wantID    uint16
		wantTypes []CtlType
		check     func(t *testing.T, s *MasterState)
	}{
		{
			name: "first node gets id 2", req: reg("a", 0),
			wantID: 2, wantTypes: []CtlType{CtlWelcome, CtlNodeUp},
		},
		{
			name: "names are registered and pushed", req: reg("a", 0, NameEntry{"x", svc(2, 1)}),
			wantID: 2, wantTypes: []CtlType{CtlWelcome, CtlNodeUp, CtlNameAdd},
		},
		{
			name: "rejoin after master restart keeps the id", req: reg("a", 7, NameEntry{"x", svc(7, 1)}),
			wantID: 7, wantTypes: []CtlType{CtlWelcome, CtlNodeUp, CtlNameAdd},
			check: func(t *testing.T, s *MasterState) {
				if id, _ := s.Register(t0, reg("b", 0)); id == 7 {
					t.Fatal("new node got a used id")
				}
			},
		},
		{
			name:  "wanted id held by another live node: new id",
			setup: func(s *MasterState) { s.Register(t0, reg("a", 0)) },
			req:   reg("b", 2), wantID: 3, wantTypes: []CtlType{CtlWelcome, CtlNodeUp},
		},
		{
			name:  "same name without id: earlier incarnation goes down",
			setup: func(s *MasterState) { s.Register(t0, reg("a", 0, NameEntry{"x", svc(2, 1)})) },
			req:   reg("a", 0), wantID: 3, wantTypes: []CtlType{CtlWelcome, CtlNodeDown, CtlNodeUp},
			check: func(t *testing.T, s *MasterState) {
				if len(s.Names()) != 0 {
					t.Fatalf("names of the dead incarnation kept: %v", s.Names())
				}
			},
		},
		{
			name: "reconnect of a live node drops names it no longer has",
			setup: func(s *MasterState) {
				s.Register(t0, reg("a", 0, NameEntry{"x", svc(2, 1)}, NameEntry{"y", svc(2, 2)}))
			},
			req: reg("a", 2, NameEntry{"y", svc(2, 2)}), wantID: 2, wantTypes: []CtlType{CtlWelcome, CtlNameDel, CtlNodeUp},
		},
		{
			name:  "name held by a live node is refused, node still joins",
			setup: func(s *MasterState) { s.Register(t0, reg("a", 0, NameEntry{"x", svc(2, 1)})) },
			req:   reg("b", 0, NameEntry{"x", svc(3, 1)}), wantID: 3, wantTypes: []CtlType{CtlWelcome, CtlNodeUp},
			check: func(t *testing.T, s *MasterState) {
				if s.Names()[0].ID != svc(2, 1) {
					t.Fatal("name stolen")
				}
			},
		},
		{
			name: "name claimed for another node's service is refused", req: reg("a", 0, NameEntry{"x", svc(9, 1)}),
			wantID: 2, wantTypes: []CtlType{CtlWelcome, CtlNodeUp},
		},
		{
			name: "client is not announced", req: &Control{Type: CtlRegister, Name: "ctl", Role: RoleClient},
			wantID: 2, wantTypes: []CtlType{CtlWelcome},
			check: func(t *testing.T, s *MasterState) {
				if len(s.Nodes()) != 1 {
					t.Fatal("client listed")
				}
			},
		},
		{name: "no name refused", req: reg("", 0), wantID: 0, wantTypes: []CtlType{CtlRefuse}},
		{name: "master's name refused", req: reg("m", 0), wantID: 0, wantTypes: []CtlType{CtlRefuse}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewMasterState(NodeEntry{Name: "m"}, timeout)
			if tt.setup != nil {
				tt.setup(s)
			}
			id, outs := s.Register(t0, tt.req)
			if id != tt.wantID || !equalTypes(types(outs), tt.wantTypes) {
				t.Fatalf("id %d outs %v, want %d %v", id, types(outs), tt.wantID, tt.wantTypes)
			}
			if id != 0 && outs[0].To != id {
				t.Fatal("welcome not addressed to the node")
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestMasterNamesAndLiveness(t *testing.T) {
	s := NewMasterState(NodeEntry{Name: "m"}, timeout)
	a, _ := s.Register(t0, reg("a", 0))
	b, _ := s.Register(t0, reg("b", 0))
	cl, _ := s.Register(t0, &Control{Type: CtlRegister, Name: "ctl", Role: RoleClient})

	outs, err := s.AddName(a, 5, "x", svc(a, 1))
	if err != nil || !equalTypes(types(outs), []CtlType{CtlAck, CtlNameAdd}) || outs[0].To != a || outs[0].Msg.Seq != 5 {
		t.Fatalf("add: %v %v", types(outs), err)
	}
	outs, err = s.AddName(b, 6, "x", svc(b, 1))
	if !errors.Is(err, core.ErrNameTaken) || outs[0].Msg.Err == "" {
		t.Fatalf("conflict: %v", err)
	}
	if _, err := s.AddName(cl, 1, "y", svc(cl, 1)); err == nil {
		t.Fatal("client registered a name")
	}
	if _, err := s.AddName(MasterID, 0, "mx", svc(MasterID, 1)); err != nil {
		t.Fatal(err)
	}
	if outs := s.DelName(b, "x", svc(a, 1)); outs != nil {
		t.Fatal("b released a's name")
	}

	// a keeps beating, b and the client fall silent.
	s.Heartbeat(t0.Add(2*time.Second), a)
	if outs := s.Tick(t0.Add(timeout)); outs != nil {
		t.Fatalf("down too early: %v", types(outs))
	}
	outs = s.Tick(t0.Add(timeout + time.Millisecond))
	if !equalTypes(types(outs), []CtlType{CtlNodeDown}) || outs[0].Msg.ID != b {
		t.Fatalf("tick: %v", types(outs))
	}
	if _, ok := s.Member(cl); ok {
		t.Fatal("silent client kept")
	}
	if s.Heartbeat(t0.Add(4*time.Second), b) {
		t.Fatal("down node accepted as alive")
	}
	if got := s.UpMembers(); len(got) != 1 || got[0] != a {
		t.Fatalf("up members %v", got)
	}
	outs = s.Leave(a)
	if !equalTypes(types(outs), []CtlType{CtlNodeDown}) || len(s.Names()) != 1 || s.Names()[0].Name != "mx" {
		t.Fatalf("leave: %v names %v", types(outs), s.Names())
	}
	if outs := s.Leave(a); outs != nil {
		t.Fatal("double leave")
	}
	if m := outs[0].Msg; m.ID != a || m.Err != NodeGone {
		t.Fatalf("leave sent %+v, want a removal", outs[0].Msg)
	}
	// a left: removed; b died: still listed down.
	if n := s.Nodes(); len(n) != 2 || n[1].ID != b || n[1].Up {
		t.Fatalf("nodes %+v", n)
	}
}

func TestMasterConnLost(t *testing.T) {
	s := NewMasterState(NodeEntry{Name: "m"}, timeout)
	a, _ := s.Register(t0, reg("a", 0))
	b, _ := s.Register(t0, reg("b", 0))
	s.ConnLost(t0, a)
	if outs := s.Tick(t0.Add(timeout / missedBeats)); outs != nil {
		t.Fatal("down before the grace interval")
	}
	outs := s.Tick(t0.Add(timeout/missedBeats + time.Millisecond))
	if len(outs) != 1 || outs[0].Msg.ID != a {
		t.Fatalf("tick: %v", types(outs))
	}
	// A node that reconnects within the grace interval stays.
	s.ConnLost(t0, b)
	s.Register(t0.Add(time.Millisecond), reg("b", b))
	if outs := s.Tick(t0.Add(2 * timeout / missedBeats)); outs != nil {
		t.Fatal("reconnected node declared down")
	}
	s.ConnLost(t0, 99) // unknown: nothing
}

func TestViewApply(t *testing.T) {
	v := NewView()
	x := svc(2, 1)
	steps := []struct {
		msg  *Control
		want []core.EventType
	}{
		{&Control{Type: CtlWelcome, Nodes: []NodeEntry{{ID: 1, Up: true}, {ID: 2, Up: true}}, Names: []NameEntry{{"x", x}}},
			[]core.EventType{core.EventNodeUp, core.EventNodeUp, core.EventNameAdded}},
		{&Control{Type: CtlNameAdd, Name: "x", Service: x}, nil},
		{&Control{Type: CtlNameAdd, Name: "y", Service: svc(2, 2)}, []core.EventType{core.EventNameAdded}},
		{&Control{Type: CtlNameDel, Name: "y", Service: svc(3, 2)}, nil},
		{&Control{Type: CtlNodeUp, Nodes: []NodeEntry{{ID: 3, Up: true}}}, []core.EventType{core.EventNodeUp}},
		{&Control{Type: CtlNodeDown, ID: 2}, []core.EventType{core.EventNameRemoved, core.EventNameRemoved, core.EventNodeDown}},
		{&Control{Type: CtlNodeDown, ID: 2}, nil},
		{&Control{Type: CtlWelcome, Nodes: []NodeEntry{{ID: 1, Up: true}}}, []core.EventType{core.EventNodeDown}},
	}
	for i, st := range steps {
		evs := v.Apply(st.msg)
		var got []core.EventType
		for _, e := range evs {
			got = append(got, e.Type)
		}
		if len(got) != len(st.want) {
			t.Fatalf("step %d: events %v, want %v", i, got, st.want)
		}
		for j := range got {
			if got[j] != st.want[j] {
				t.Fatalf("step %d: events %v, want %v", i, got, st.want)
			}
		}
	}
	if _, ok := v.Lookup("x"); ok {
		t.Fatal("name of a down node kept")
	}
}

// TestMasterDownRetention: a dead node stays listed down for the retention,
// then is removed everywhere; one that returns in time is simply up again.
func TestMasterDownRetention(t *testing.T) {
	const retain = 10 * time.Second
	s := NewMasterState(NodeEntry{Name: "m"}, timeout)
	s.SetDownRetention(retain)
	a, _ := s.Register(t0, reg("a", 0))
	b, _ := s.Register(t0, reg("b", 0))
	if outs := s.Tick(t0.Add(timeout + time.Millisecond)); len(outs) != 2 {
		t.Fatalf("tick: %v", types(outs))
	}
	if _, outs := s.Register(t0.Add(retain/2), reg("b", b)); len(outs) == 0 {
		t.Fatal("b not re-registered")
	}
	tests := []struct {
		at       time.Duration
		wantGone []uint16
		wantIDs  []uint16
	}{
		{at: timeout + retain, wantIDs: []uint16{MasterID, a, b}},
		{at: timeout + retain + time.Millisecond, wantGone: []uint16{a}, wantIDs: []uint16{MasterID, b}},
		{at: 2 * (timeout + retain), wantIDs: []uint16{MasterID, b}},
	}
	for _, tt := range tests {
		s.Heartbeat(t0.Add(tt.at), b)
		var gone []uint16
		for _, o := range s.Tick(t0.Add(tt.at)) {
			if o.Msg.Type == CtlNodeDown && o.Msg.Err == NodeGone && o.To == Broadcast {
				gone = append(gone, o.Msg.ID)
			}
		}
		var ids []uint16
		for _, n := range s.Nodes() {
			ids = append(ids, n.ID)
		}
		if !slices.Equal(gone, tt.wantGone) || !slices.Equal(ids, tt.wantIDs) {
			t.Fatalf("at %v: removed %v nodes %v, want %v %v", tt.at, gone, ids, tt.wantGone, tt.wantIDs)
		}
	}
}
