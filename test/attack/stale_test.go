package attack

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// TestStaleIncarnation: an id looked up before its node was killed and
// restarted under the same name must not reach the new process's service:
// the call fails with ErrStaleID (or ErrNodeDown), before its deadline,
// while the name looked up again works.
func TestStaleIncarnation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", 0)
	eventually(t, "master ready", 10*time.Second, func() bool { return ready(m) })
	a := e.node(contract.RoleSlave, "a", m.addr, 0)
	eventually(t, "a ready", 10*time.Second, func() bool { return ready(a) })
	calls := newCaller(t, m.addr)
	var old core.ServiceID
	eventually(t, "echo:a known", 10*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		id, err := calls.core.Lookup(ctx, contract.EchoName("a"))
		old = id
		return err == nil
	})

	_ = a.cmd.Process.Kill()
	<-a.done
	a2 := e.node(contract.RoleSlave, "a", m.addr, 0)
	eventually(t, "a restarted", 10*time.Second, func() bool { return ready(a2) })
	var fresh core.ServiceID
	eventually(t, "echo:a of the new process", 10*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		id, err := calls.core.Lookup(ctx, contract.EchoName("a"))
		fresh = id
		return err == nil && id != old
	})
	t.Logf("old id %v, new id %v", old, fresh)

	for _, tc := range []struct {
		name string
		id   core.ServiceID
		ok   bool
	}{
		{"new id", fresh, true},
		{"old id", old, false},
		{"new node and index, old incarnation", core.MakeIncID(fresh.Node(), old.Incarnation(), fresh.Index()), false},
		{"no incarnation", core.MakeIncID(fresh.Node(), 0, fresh.Index()), false},
		{"old incarnation plus one", core.MakeIncID(fresh.Node(), fresh.Incarnation()+1, fresh.Index()), false},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		start := time.Now()
		ret, err := calls.core.Call(ctx, tc.id, "echo", 7)
		cancel()
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && err == nil:
			t.Errorf("%s %v reached the new process: reply %v", tc.name, tc.id, ret)
		case !tc.ok && !errors.Is(err, core.ErrStaleID) && !errors.Is(err, core.ErrNodeDown):
			t.Errorf("%s: %v after %v, want ErrStaleID or ErrNodeDown at once", tc.name, err, time.Since(start))
		}
	}
}
