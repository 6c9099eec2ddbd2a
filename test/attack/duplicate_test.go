package attack

import (
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// TestDuplicateNameRace starts three processes under one node name at the
// same moment. Exactly one keeps the name; the others exit non-zero, and
// the winner is registered once (no eviction back and forth).
func TestDuplicateNameRace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", 0)
	eventually(t, "master ready", 10*time.Second, func() bool { return ready(m) })
	var dups []*proc
	for range 3 {
		dups = append(dups, e.node(contract.RoleSlave, "dup", m.addr, 0))
	}
	var live []*proc
	eventually(t, "all but one exit", 15*time.Second, func() bool {
		live = live[:0]
		for _, p := range dups {
			select {
			case <-p.done:
			default:
				live = append(live, p)
			}
		}
		return len(live) == 1
	})
	time.Sleep(3 * time.Second) // three heartbeats: long enough to see flapping
	for _, p := range dups {
		select {
		case <-p.done:
			if p == live[0] {
				t.Fatalf("the winner exited too:\n%s", p.log.String())
			}
			if code := p.cmd.ProcessState.ExitCode(); code == 0 {
				t.Errorf("a refused duplicate exited 0:\n%s", p.log.String())
			}
		default:
			if p != live[0] {
				t.Fatal("two processes run under one name")
			}
		}
	}
	if !ready(live[0]) {
		t.Errorf("the winner is not ready:\n%s", live[0].log.String())
	}
	if n := strings.Count(m.log.String(), `"Node registered" name="dup"`); n != 1 {
		t.Errorf("dup registered %d times, want once:\n%s", n, m.log.String())
	}
}
