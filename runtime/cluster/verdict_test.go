package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// spawnHeld starts service name on n whose "do" handler waits for release
// and answers "done".
func spawnHeld(t *testing.T, n *testNode, name string, release <-chan struct{}) {
	t.Helper()
	if _, err := n.core.Spawn(context.Background(), name, func(s *core.Service) error {
		s.Handle("do", func() string {
			<-release
			return "done"
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// pendingCall starts a Call from a to name's "do" and waits until it
// reached b; the result arrives on the returned channel.
func pendingCall(t *testing.T, a, b *testNode, name string) <-chan error {
	t.Helper()
	eventually(t, "a learns "+name, 2*time.Second, func() bool { return a.knows(name) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	id, err := a.core.Lookup(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	before := b.cl.Stats().In[core.KindCall].Load()
	res := make(chan error, 1)
	go func() {
		ret, err := a.core.Call(ctx, id, "do")
		if err == nil && (len(ret) != 1 || ret[0] != "done") {
			err = errors.New("wrong reply")
		}
		res <- err
	}()
	eventually(t, "the call reaches b", 2*time.Second, func() bool { return b.cl.Stats().In[core.KindCall].Load() > before })
	return res
}

// TestMasterVerdictKeepsCallsOnLiveLink: the master reports b down (as a
// partitioned master does) while a's direct link to b is up. The Call a has
// pending on b stays pending and gets b's reply; only new messages to b
// fail. Before, the master's verdict failed the Call at once (ErrNodeDown)
// although b ran it.
func TestMasterVerdictKeepsCallsOnLiveLink(t *testing.T) {
	_, a, b := cluster3(t)
	release := make(chan struct{})
	spawnHeld(t, b, "held", release)
	res := pendingCall(t, a, b, "held")
	a.cl.slaveControl(&Control{Type: CtlNodeDown, ID: uint16(b.cl.ID())})
	if _, err := a.call("echo:b", 1); err == nil {
		t.Error("a new call to a node the master reports down succeeded")
	}
	select {
	case err := <-res:
		t.Fatalf("pending call ended on the master's verdict while the link was up: %v", err)
	case <-time.After(5 * testHB):
	}
	close(release)
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("pending call: %v, want b's reply", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no reply")
	}
}

// TestMasterVerdictOnCallerKeepsReply: the master reports the caller a down
// to b while b runs a's Call (a's partition from the master, or the master's
// own). b's reply must still reach a over the link a's request came on;
// before, b dropped it ("node down") and a timed out although b ran it.
func TestMasterVerdictOnCallerKeepsReply(t *testing.T) {
	_, a, b := cluster3(t)
	release := make(chan struct{})
	spawnHeld(t, b, "served", release)
	res := pendingCall(t, a, b, "served")
	b.cl.slaveControl(&Control{Type: CtlNodeDown, ID: uint16(a.cl.ID())})
	close(release)
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("pending call: %v, want b's reply", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no reply: b dropped it")
	}
}

// TestDrainedNodeReplyAfterLeftVerdict: b is draining and a Call to it is
// pending when the news that b left reaches a before b's reply (the master's
// path overtook the direct link). The Call must get the reply: b's links are
// still open, and b closes them only after writing its replies. Before, the
// Call failed one heartbeat after the verdict although b ran it.
func TestDrainedNodeReplyAfterLeftVerdict(t *testing.T) {
	_, a, b := cluster3(t)
	release := make(chan struct{})
	spawnHeld(t, b, "drained", release)
	res := pendingCall(t, a, b, "drained")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b.cl.Drain(ctx)
	bid := uint16(b.cl.ID())
	eventually(t, "a learns b drains", 2*time.Second, func() bool {
		a.cl.mu.Lock()
		defer a.cl.mu.Unlock()
		return a.cl.view.Draining(bid)
	})
	a.cl.slaveControl(&Control{Type: CtlNodeDown, ID: bid, Err: NodeGone})
	select {
	case err := <-res:
		t.Fatalf("pending call on a drained node with open links ended: %v", err)
	case <-time.After(5 * testHB):
	}
	close(release)
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("pending call: %v, want b's reply", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no reply")
	}
}

// TestLookupOfDownNodesNameFailsAtOnce: once a node is known down, a lookup
// of a name it held fails at once with ErrNodeDown instead of waiting the
// lookup timeout for the name to come back.
func TestLookupOfDownNodesNameFailsAtOnce(t *testing.T) {
	_, a, b := cluster3(t)
	b.crash()
	eventually(t, "a sees b down", 2*time.Second, func() bool { return len(a.upNodes()) == 2 && !a.knows("echo:b") })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := a.core.Lookup(ctx, "echo:b")
	if !errors.Is(err, core.ErrNodeDown) {
		t.Fatalf("lookup of a down node's name: %v, want ErrNodeDown", err)
	}
	if d := time.Since(start); d >= a.cl.opts.LookupTimeout {
		t.Fatalf("lookup failed after %v: it waited for the name", d)
	}
	// A name never registered is still waited for.
	if _, err := a.core.Lookup(ctx, "never"); !errors.Is(err, core.ErrServiceNotFound) {
		t.Fatalf("lookup of an unknown name: %v, want ErrServiceNotFound", err)
	}
}

// TestCallCarriesBudget: a remote Call carries the caller's remaining
// budget; the handler sees a deadline no later than the caller's.
func TestCallCarriesBudget(t *testing.T) {
	_, a, b := cluster3(t)
	if _, err := b.core.Spawn(context.Background(), "budget", func(s *core.Service) error {
		s.Handle("left", func(cx *core.Context) (int64, error) {
			d, ok := cx.Deadline()
			if !ok {
				return 0, errors.New("no deadline")
			}
			return time.Until(d).Milliseconds(), nil
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a learns budget", 2*time.Second, func() bool { return a.knows("budget") })
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	id, err := a.core.Lookup(ctx, "budget")
	if err != nil {
		t.Fatal(err)
	}
	ret, err := a.core.Call(ctx, id, "left")
	if err != nil {
		t.Fatal(err)
	}
	left, _ := ret[0].(int64)
	if left <= 0 || left > 800 {
		t.Fatalf("handler saw %d ms left of an 800 ms budget", left)
	}
}

// TestCloseDoesNotWaitForUnreachablePeer: a node with frames queued for a
// peer that cannot be reached still closes long before its shutdown context
// ends, so the connections other nodes opened to it keep time to drain.
func TestCloseDoesNotWaitForUnreachablePeer(t *testing.T) {
	m := startNode(t, contract.RoleMaster, "m", "127.0.0.1:0", "")
	a := startNode(t, contract.RoleSlave, "a", "127.0.0.1:0", m.cl.Addr())
	if err := a.cl.tr.Peer("127.0.0.1:1").Send([]byte{byte(core.KindSend)}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	a.stop() // its shutdown context is 2 s
	if d := time.Since(start); d > time.Second {
		t.Fatalf("stop took %v: the unreachable peer used up the shutdown context", d)
	}
}
