package cluster

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lotou-io/lotou/runtime/core"
)

// TestMasterNameLimits: one node cannot grow the global name table past its
// bounds (count and bytes); what it releases, or loses when it goes down,
// makes room again; other nodes are not affected; a registration carrying
// too many names gets the rest refused.
func TestMasterNameLimits(t *testing.T) {
	tests := []struct {
		name       string
		count      int
		bytes      int
		names      []string // added in order by node a
		wantRefuse int      // index of the first refused name, -1 for none
	}{
		{"within both", 3, 100, []string{"a1", "a2", "a3"}, -1},
		{"count", 2, 100, []string{"a1", "a2", "a3"}, 2},
		{"bytes", 10, 10, []string{"aaaa", "bbbb", "cccc"}, 2},
		{"one long name", 10, 10, []string{"a-name-longer-than-ten"}, 0},
		{"exactly the bytes", 10, 8, []string{"aaaa", "bbbb"}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewMasterState(NodeEntry{Name: "m"}, timeout)
			s.SetNameLimits(tt.count, tt.bytes)
			a, _ := s.Register(t0, reg("a", 0))
			b, _ := s.Register(t0, reg("b", 0))
			refused := -1
			for i, n := range tt.names {
				_, err := s.AddName(a, uint64(i+1), n, svc(a, uint64(i+1)))
				if err != nil {
					if !errors.Is(err, core.ErrTooLarge) {
						t.Fatalf("%q: %v, want ErrTooLarge", n, err)
					}
					if refused < 0 {
						refused = i
					}
				}
			}
			if refused != tt.wantRefuse {
				t.Fatalf("first refused name %d, want %d", refused, tt.wantRefuse)
			}
			// b has its own room.
			if _, err := s.AddName(b, 1, "b1", svc(b, 1)); err != nil {
				t.Fatalf("b: %v", err)
			}
			if refused < 0 {
				return
			}
			// Releasing one of a's names makes room for another of that size.
			if refused > 0 {
				s.DelName(a, tt.names[0], svc(a, 1))
				if _, err := s.AddName(a, 99, tt.names[0], svc(a, 99)); err != nil {
					t.Fatalf("after a release: %v", err)
				}
			}
		})
	}
}

func TestMasterNameLimitsDownAndRegister(t *testing.T) {
	s := NewMasterState(NodeEntry{Name: "m"}, timeout)
	s.SetNameLimits(5, 1000)
	var names []NameEntry
	for i := range 8 {
		names = append(names, NameEntry{Name: fmt.Sprintf("n%d", i)})
	}
	// A registration with 8 names: 5 are bound, 3 refused.
	a, outs := s.Register(t0, reg("a", 0))
	for i := range names {
		names[i].ID = svc(a, uint64(i+1))
	}
	_ = outs
	// Re-register with the names, as a reconnecting node does.
	if _, _ = s.Register(t0, reg("a", a, names...)); len(s.namesOf(a)) != 5 {
		t.Fatalf("a holds %d names after registering 8 with a limit of 5", len(s.namesOf(a)))
	}
	// a dies: its names go, and the room with them.
	s.Tick(t0.Add(2 * timeout))
	if got := s.nameUse[a]; got.count != 0 || got.bytes != 0 {
		t.Fatalf("a's use after down: %+v", got)
	}
	b, _ := s.Register(t0.Add(2*timeout), reg("b", 0))
	for i := range 5 {
		if _, err := s.AddName(b, uint64(i+1), names[i].Name, svc(b, uint64(i+1))); err != nil {
			t.Fatalf("b takes %q after a died: %v", names[i].Name, err)
		}
	}
	if _, err := s.AddName(b, 9, "one-more", svc(b, 9)); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("b's sixth name: %v, want ErrTooLarge", err)
	}
}
