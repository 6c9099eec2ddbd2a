package cluster

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/transport"
)

func TestNodeDownRemovesNamesAndFailsCalls(t *testing.T) {
	m, a, b := cluster3(t)
	block := make(chan struct{})
	defer close(block)
	if _, err := b.core.Spawn(context.Background(), "slow", func(s *core.Service) error {
		s.Handle("echo", func() { <-block })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	downs := make(chan core.Event, 4)
	if _, err := a.core.Spawn(context.Background(), ".watch", func(s *core.Service) error {
		s.Subscribe(func(ev core.Event) {
			if ev.Type == core.EventNodeDown {
				downs <- ev
			}
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a learns slow", time.Second, func() bool { return a.knows("slow") })
	callErr := make(chan error, 1)
	go func() {
		_, err := a.call("slow")
		callErr <- err
	}()
	eventually(t, "call reaches b", time.Second, func() bool { return b.cl.Stats().In[core.KindCall].Load() > 0 })
	start := time.Now()
	b.crash()
	if err := <-callErr; !errors.Is(err, core.ErrNodeDown) {
		t.Fatalf("pending call: %v, want ErrNodeDown", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("pending call failed after %v", d)
	}
	for _, n := range []*testNode{m, a} {
		eventually(t, n.cl.Name()+" sees b down", contract.MissedHeartbeats*testHB+300*time.Millisecond, func() bool {
			return len(n.upNodes()) == 2 && !n.knows("echo:b") && !n.knows("slow")
		})
	}
	select {
	case ev := <-downs:
		if ev.Node != b.cl.ID() {
			t.Fatalf("node-down event for %d", ev.Node)
		}
	case <-time.After(time.Second):
		t.Fatal("no node-down event")
	}
	// A name of a node known down fails at once (it was not sent).
	if _, err := a.call("echo:b"); !errors.Is(err, core.ErrNodeDown) {
		t.Fatalf("call to a down node's name: %v", err)
	}
}

func TestGracefulLeave(t *testing.T) {
	m, a, b := cluster3(t)
	b.stop()
	for _, n := range []*testNode{m, a} {
		eventually(t, n.cl.Name()+" sees b gone", contract.MissedHeartbeats*testHB, func() bool {
			return len(n.upNodes()) == 2 && !n.knows("echo:b")
		})
	}
}

func TestMasterRestart(t *testing.T) {
	m, a, b := cluster3(t)
	addr := m.cl.Addr()
	aID, bID := a.cl.ID(), b.cl.ID()
	if _, err := a.core.Spawn(context.Background(), "extra", func(*core.Service) error { return nil }); err != nil {
		t.Fatal(err)
	}
	m.crash()
	eventually(t, "a notices", time.Second, func() bool { return !a.cl.Ready() })
	// Slave to slave traffic goes on while the master is away.
	if _, err := a.call("echo:b", 1); err != nil {
		t.Fatal(err)
	}
	m2 := startNode(t, contract.RoleMaster, "m", addr, "")
	eventually(t, "everything back", 5*time.Second, func() bool {
		return len(m2.upNodes()) == 3 && m2.knows("echo:a") && m2.knows("echo:b") && m2.knows("extra") &&
			a.cl.Ready() && b.cl.Ready() && a.knows("echo:m")
	})
	if a.cl.ID() != aID || b.cl.ID() != bID {
		t.Fatal("ids changed")
	}
	for _, e := range m2.cl.Nodes() {
		if (e.Name == "a" && e.ID != uint16(aID)) || (e.Name == "b" && e.ID != uint16(bID)) {
			t.Fatalf("master re-assigned %+v", e)
		}
	}
	if _, err := b.call("echo:a", 2); err != nil {
		t.Fatal(err)
	}
}

// mute accepts connections and never answers: a master that hangs.
type mute struct {
	mu    sync.Mutex
	conns int
}

func (m *mute) HandleFrame(*transport.Conn, []byte) {}
func (m *mute) ConnUp(*transport.Conn) {
	m.mu.Lock()
	m.conns++
	m.mu.Unlock()
}
func (m *mute) ConnDown(*transport.Conn, error) {}

func (m *mute) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.conns
}

func TestSilentMasterIsRedialled(t *testing.T) {
	h := &mute{}
	tr, err := transport.New(transport.Options{Self: transport.Identity{Name: "m"}, Token: []byte("secret"), Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	addr, err := tr.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := New(Options{Role: contract.RoleSlave, Name: "s", Listen: "127.0.0.1:0", Master: addr.String(),
		Token: []byte("secret"), Codec: newCodec(), Heartbeat: testHB, BackoffMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cl.Run(ctx) }()
	eventually(t, "a second connection after silence", 10*contract.MissedHeartbeats*testHB, func() bool { return h.count() >= 2 })
	if cl.Ready() {
		t.Fatal("ready without a welcome")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = cl.Close(context.Background())
}

func TestRegisterWithoutMasterTimesOut(t *testing.T) {
	m, a, _ := cluster3(t)
	m.crash()
	eventually(t, "a notices", time.Second, func() bool { return !a.cl.Ready() })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := a.core.Spawn(ctx, "orphan", func(*core.Service) error { return nil })
	if !errors.Is(err, core.ErrCallTimeout) {
		t.Fatalf("err = %v, want ErrCallTimeout", err)
	}
	m2 := startNode(t, contract.RoleMaster, "m", m.cl.Addr(), "")
	eventually(t, "a back", 5*time.Second, func() bool { return a.cl.Ready() && m2.knows("echo:a") })
	if m2.knows("orphan") {
		t.Fatal("a name whose registration failed reached the master")
	}
}

func TestMasterCrashFailsPendingCalls(t *testing.T) {
	m, a, _ := cluster3(t)
	block := make(chan struct{})
	defer close(block)
	if _, err := m.core.Spawn(context.Background(), "stuck", func(s *core.Service) error {
		s.Handle("echo", func() { <-block })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a learns stuck", time.Second, func() bool { return a.knows("stuck") })
	callErr := make(chan error, 1)
	go func() {
		_, err := a.call("stuck")
		callErr <- err
	}()
	eventually(t, "call reaches m", time.Second, func() bool { return m.cl.Stats().In[core.KindCall].Load() > 0 })
	m.crash()
	select {
	case err := <-callErr:
		if !errors.Is(err, core.ErrNodeDown) {
			t.Fatalf("pending call: %v, want ErrNodeDown", err)
		}
	case <-time.After(time.Second):
		t.Fatal("pending call to the crashed master still waiting")
	}
}

// TestGracefulLeaveDrains sends a burst of one-way messages and leaves at
// once: every message queued before the leave still arrives.
func TestGracefulLeaveDrains(t *testing.T) {
	_, a, b := cluster3(t)
	const n = 5000 // a burst the 2s drain deadline of stop covers even under -race
	var got atomic.Int64
	if _, err := a.core.Spawn(context.Background(), "sink", func(s *core.Service) error {
		s.Handle("hit", func(int) { got.Add(1) })
		return nil
	}, core.WithMailboxSize(2*n)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b learns sink", time.Second, func() bool { return b.knows("sink") })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	id, err := b.core.Lookup(ctx, "sink")
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := b.core.Send(id, "hit", i); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	b.stop()
	deadline := time.Now().Add(5 * time.Second)
	for got.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if g := got.Load(); g != n {
		t.Fatalf("%d of %d messages sent before leaving were delivered", g, n)
	}
}
