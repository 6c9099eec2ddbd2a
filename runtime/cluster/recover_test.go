package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// restarted returns a fresh master state in its recovery window, as a master
// that just restarted under a cluster whose slaves a (id 2) and b (id 3) are
// still running.
func restarted() *MasterState {
	s := NewMasterState(NodeEntry{Name: "m"}, timeout)
	s.Recover(t0.Add(2*timeout), 5000)
	return s
}

// rereg is the registration of a slave that held id before the restart and
// saw the given nodes.
func rereg(name string, id uint16, seen ...NodeEntry) *Control {
	c := reg(name, id)
	c.Nodes = append([]NodeEntry{{ID: MasterID, Name: "m", Up: true, Role: contract.RoleMaster}}, seen...)
	return c
}

var (
	oldA = NodeEntry{ID: 2, Name: "a", Up: true, Role: "slave"}
	oldB = NodeEntry{ID: 3, Name: "b", Up: true, Role: "slave"}
)

func TestMasterRecoveryKeepsIDs(t *testing.T) {
	tests := []struct {
		name  string
		steps []func(*MasterState) (string, uint16, uint16) // returns node, got id, want id
	}{
		{
			name: "fresh node first takes no small id, old slaves keep theirs",
			steps: []func(*MasterState) (string, uint16, uint16){
				func(s *MasterState) (string, uint16, uint16) {
					id, _ := s.Register(t0, &Control{Type: CtlRegister, Name: "ctl", Role: RoleClient})
					return "ctl", id, 5000
				},
				func(s *MasterState) (string, uint16, uint16) {
					id, _ := s.Register(t0.Add(time.Millisecond), reg("new", 0))
					return "new", id, 5001
				},
				func(s *MasterState) (string, uint16, uint16) {
					id, _ := s.Register(t0.Add(time.Second), rereg("b", 3, oldA, oldB))
					return "b", id, 3
				},
				func(s *MasterState) (string, uint16, uint16) {
					id, _ := s.Register(t0.Add(2*time.Second), rereg("a", 2, oldA, oldB))
					return "a", id, 2
				},
			},
		},
		{
			name: "ids seen by a re-registered slave stay reserved after the window",
			steps: []func(*MasterState) (string, uint16, uint16){
				func(s *MasterState) (string, uint16, uint16) {
					id, _ := s.Register(t0.Add(2*timeout), rereg("b", 3, oldA, oldB))
					return "b", id, 3
				},
				func(s *MasterState) (string, uint16, uint16) {
					// Past the window: small ids again, but a's 2 is reserved.
					id, _ := s.Register(t0.Add(2*timeout+time.Millisecond), reg("new", 0))
					return "new", id, 4
				},
				func(s *MasterState) (string, uint16, uint16) {
					id, _ := s.Register(t0.Add(2*timeout+2*time.Millisecond), reg("other", 2))
					return "other", id, 5 // asks for a's reserved id: refused
				},
				func(s *MasterState) (string, uint16, uint16) {
					id, _ := s.Register(t0.Add(2*timeout+time.Second), rereg("a", 2, oldA, oldB))
					return "a", id, 2
				},
			},
		},
		{
			name: "a reservation expires after one timeout",
			steps: []func(*MasterState) (string, uint16, uint16){
				func(s *MasterState) (string, uint16, uint16) {
					id, _ := s.Register(t0.Add(2*timeout), rereg("b", 3, oldA, oldB))
					return "b", id, 3
				},
				func(s *MasterState) (string, uint16, uint16) {
					s.Tick(t0.Add(3 * timeout))
					id, _ := s.Register(t0.Add(3*timeout), reg("new", 0))
					return "new", id, 2 // a never came back
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := restarted()
			for i, step := range tt.steps {
				if name, got, want := step(s); got != want {
					t.Fatalf("step %d: %s got id %d, want %d", i, name, got, want)
				}
			}
		})
	}
}

func TestRecoverClampsBase(t *testing.T) {
	for _, base := range []uint16{0, 2, RecoverTop, 0xffff} {
		s := NewMasterState(NodeEntry{Name: "m"}, timeout)
		s.Recover(t0.Add(timeout), base)
		id, _ := s.Register(t0, reg("n", 0))
		if id < RecoverBase || id > RecoverTop {
			t.Fatalf("base %d: id %d outside [%d,%d]", base, id, RecoverBase, RecoverTop)
		}
	}
}

// TestMasterRestartWithNewcomer restarts the master and has a client join at
// once, racing the slaves' re-registration: no slave may lose its id (before
// the fix the client took id 2 and slave a exited with ErrIDChanged).
func TestMasterRestartWithNewcomer(t *testing.T) {
	m, a, b := cluster3(t)
	addr := m.cl.Addr()
	aID, bID := a.cl.ID(), b.cl.ID()
	m.crash()
	eventually(t, "a notices", time.Second, func() bool { return !a.cl.Ready() })
	m2 := startNode(t, contract.RoleMaster, "m", addr, "")
	ctl := startNode(t, RoleClient, "ctl", "", addr)
	eventually(t, "slaves back", 5*time.Second, func() bool {
		return len(m2.upNodes()) == 3 && a.cl.Ready() && b.cl.Ready() && m2.knows("echo:a") && m2.knows("echo:b")
	})
	if a.cl.ID() != aID || b.cl.ID() != bID || ctl.cl.ID() == aID || ctl.cl.ID() == bID {
		t.Fatalf("ids a %d→%d b %d→%d ctl %d", aID, a.cl.ID(), bID, b.cl.ID(), ctl.cl.ID())
	}
	for _, n := range []*testNode{a, b} {
		select {
		case err := <-n.done:
			t.Fatalf("%s stopped: %v", n.cl.Name(), err)
		default:
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	id, err := ctl.core.Lookup(ctx, "echo:a")
	if err != nil {
		t.Fatal(err)
	}
	if ret, err := ctl.core.Call(ctx, id, "echo", 7); err != nil || len(ret) != 1 {
		t.Fatalf("call after restart: %v %v", ret, err)
	}
}

// TestWelcomeSettlesLostAcks: a name registration whose ack was lost with
// its connection is answered by the welcome of the re-registration, which
// carried the name again; before, Register waited forever.
func TestWelcomeSettlesLostAcks(t *testing.T) {
	mine, theirs := svc(5, 1), svc(6, 1)
	tests := []struct {
		name    string
		owned   bool
		table   []NameEntry
		settled bool
		wantErr string
	}{
		{"taken by the master", true, []NameEntry{{"x", mine}}, true, ""},
		{"held by another node", true, []NameEntry{{"x", theirs}}, true, "held by"},
		{"refused", true, nil, true, "refused"},
		{"withdrawn meanwhile: still pending", false, []NameEntry{{"x", mine}}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Options{Role: contract.RoleSlave, Name: "s", Listen: "127.0.0.1:0", Master: "127.0.0.1:1", Token: []byte("t"), Codec: newCodec()})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			c.acks[7] = pendingName{name: "x", svc: mine, done: done}
			if tt.owned {
				c.owned["x"] = mine
			}
			c.settleAcksLocked(&Control{Type: CtlWelcome, ID: 5, Names: tt.table})
			select {
			case err := <-done:
				if !tt.settled {
					t.Fatalf("settled with %v", err)
				}
				if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if _, ok := c.acks[7]; ok {
					t.Fatal("settled ack kept")
				}
			default:
				if tt.settled {
					t.Fatal("registration left waiting")
				}
			}
		})
	}
}
