package attack

import (
	"syscall"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// TestMasterStalled stops the master (SIGSTOP) for twice the heartbeat
// timeout, then resumes it. Calls between the slaves do not involve the
// master and must keep being answered; after it resumes, every node is
// still running under its id and calls to the master's service work again.
func TestMasterStalled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", 0)
	eventually(t, "master ready", 10*time.Second, func() bool { return ready(m) })
	a := e.node(contract.RoleSlave, "a", m.addr, 0)
	b := e.node(contract.RoleSlave, "b", m.addr, 0)
	for _, p := range []*proc{a, b} {
		eventually(t, p.name+" ready", 10*time.Second, func() bool { return ready(p) })
	}
	slaves := newCaller(t, m.addr, "a", "b")
	master := newCaller(t, m.addr, "m")
	eventually(t, "calls answered", 10*time.Second, func() bool { return slaves.ok.Load() >= 4 && master.ok.Load() >= 2 })
	slaves.bad.Store(0)

	if err := m.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	during := slaves.ok.Load()
	time.Sleep(2 * contract.MissedHeartbeats * time.Second) // the fault itself: twice the heartbeat timeout
	if err := m.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	t.Logf("master stopped for %v; %d calls to the slaves answered meanwhile, %d failed (last: %v)",
		time.Since(stopped).Round(time.Millisecond), slaves.ok.Load()-during, slaves.bad.Load(), slaves.lastErr.Load())
	if slaves.ok.Load() == during {
		t.Error("no call between slaves answered while the master was stopped")
	}
	before := master.ok.Load()
	eventually(t, "calls to the master after it resumed", 10*time.Second, func() bool { return master.ok.Load() >= before+4 })
	for _, p := range []*proc{m, a, b} {
		select {
		case <-p.done:
			t.Fatalf("%s exited after the master stalled:\n%s", p.name, p.log.String())
		default:
		}
		eventually(t, p.name+" ready after the stall", 10*time.Second, func() bool { return ready(p) })
	}
	after := slaves.ok.Load()
	eventually(t, "calls to the slaves after", 5*time.Second, func() bool { return slaves.ok.Load() >= after+4 })
}
