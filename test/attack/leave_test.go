package attack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// TestLeaveUnderLoad sends SIGTERM to a slave while a client (which has no
// address: replies reach it over the connection it opened) calls the
// slave's echo in eight loops. A call may fail only in ways that say it
// did not run there: the node was draining, its name was gone, or it was
// already known down when the call was made. None may fail while pending
// on the node ("left the cluster"), or at its deadline.
func TestLeaveUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", 0)
	eventually(t, "master ready", 10*time.Second, func() bool { return ready(m) })
	b := e.node(contract.RoleSlave, "b", m.addr, 0)
	eventually(t, "b ready", 10*time.Second, func() bool { return ready(b) })
	calls := newCaller(t, m.addr, "b", "b", "b", "b", "b", "b", "b", "b")
	eventually(t, "calls answered", 10*time.Second, func() bool { return calls.ok.Load() >= 40 })

	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		t.Fatal("b did not stop within 10s of SIGTERM")
	}
	if code := b.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("b exited %d after SIGTERM:\n%s", code, b.log.String())
	}
	time.Sleep(3 * time.Second) // a call made just before the exit ends within its 2 s deadline
	calls.errMu.Lock()
	defer calls.errMu.Unlock()
	kinds := map[string]int{}
	for _, err := range calls.errs {
		switch {
		case errors.Is(err, core.ErrNodeDraining):
			kinds["draining"]++
		case strings.Contains(err.Error(), "looking up"):
			kinds["name gone"]++
		case strings.Contains(err.Error(), "left the cluster"):
			kinds["failed while pending"]++
			t.Errorf("a call pending on the leaving node failed: %v", err)
		case errors.Is(err, core.ErrNodeDown):
			kinds["known down"]++
		default:
			kinds["other"]++
			t.Errorf("call failed: %v", err)
		}
	}
	t.Logf("%d calls answered; failures by kind: %v", calls.ok.Load(), kinds)
}

// TestLeaveWithQueuedWork: calls queue on slave b's echo while it relays
// each to slave c, which is stopped (SIGSTOP); then b gets SIGTERM and c is
// resumed. Every call b accepted must be answered (it ran), and every call
// that failed must have failed in a way that says it never ran on b.
func TestLeaveWithQueuedWork(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", 0)
	eventually(t, "master ready", 10*time.Second, func() bool { return ready(m) })
	b := e.node(contract.RoleSlave, "b", m.addr, 0)
	c := e.node(contract.RoleSlave, "c", m.addr, 0)
	for _, p := range []*proc{b, c} {
		eventually(t, p.name+" ready", 10*time.Second, func() bool { return ready(p) })
	}
	calls := newCaller(t, m.addr)
	to := lookup(t, calls, "b")
	lookup(t, calls, "c")

	if err := c.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	const n = 6
	results := make(chan error, n)
	for i := range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
			defer cancel()
			ret, err := calls.core.Call(ctx, to, "relay", contract.EchoName("c"), "echo", i)
			if err == nil && (len(ret) != 1 || ret[0] != i) {
				err = fmt.Errorf("reply %v, want [%d]", ret, i)
			}
			results <- err
		}()
	}
	time.Sleep(500 * time.Millisecond) // the calls reach b and queue behind the first relay
	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := c.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var ok int
	for range n {
		switch err := <-results; {
		case err == nil:
			ok++
		case errors.Is(err, core.ErrNodeDraining):
			t.Logf("refused while draining: %v", err)
		default:
			t.Errorf("a call b had accepted failed: %v", err)
		}
	}
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		t.Fatal("b did not stop within 10s of SIGTERM")
	}
	t.Logf("%d of %d queued calls answered across b's leave", ok, n)
}
