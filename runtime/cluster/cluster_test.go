package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"go.uber.org/goleak"

	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testHB = 40 * time.Millisecond

// testNode is a cluster member with a core, run in-process.
type testNode struct {
	t      *testing.T
	cl     *Cluster
	core   *core.Core
	cancel context.CancelFunc
	done   chan error
	logs   *logBuf
	once   sync.Once
}

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		fmt.Fprintln(&l.b, prefix, args)
		l.mu.Unlock()
	}, funcr.Options{})
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newCodec() *codec.Registry {
	r := codec.NewRegistry()
	if err := r.RegisterName("lotou.ServiceID", core.ServiceID(0)); err != nil {
		panic(err)
	}
	return r
}

type nodeOpt func(*Options)

func withToken(tok string) nodeOpt { return func(o *Options) { o.Token = []byte(tok) } }

// startNode starts a node; for slaves and clients it waits for the join.
func startNode(t *testing.T, role, name, listen, master string, opts ...nodeOpt) *testNode {
	t.Helper()
	n, err := tryStartNode(t, role, name, listen, master, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func tryStartNode(t *testing.T, role, name, listen, master string, opts ...nodeOpt) (*testNode, error) {
	t.Helper()
	logs := &logBuf{}
	o := Options{
		Role: role, Name: name, Listen: listen, Master: master, Token: []byte("secret"),
		Heartbeat: testHB, LookupTimeout: 200 * time.Millisecond, Codec: newCodec(),
		BackoffMax: 50 * time.Millisecond, Log: logs.logger(),
	}
	if role == RoleClient {
		o.Listen = ""
	}
	for _, f := range opts {
		f(&o)
	}
	cl, err := New(o)
	if err != nil {
		return nil, err
	}
	if _, err := cl.Start(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	id, err := cl.Join(ctx)
	if err != nil {
		_ = cl.Close(context.Background())
		return nil, err
	}
	k, err := core.New(core.Options{Node: id, Incarnation: cl.Incarnation()})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Attach(k); err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	n := &testNode{t: t, cl: cl, core: k, cancel: rcancel, done: make(chan error, 1), logs: logs}
	go func() { n.done <- cl.Run(rctx) }()
	if role != RoleClient {
		if _, err := k.Spawn(context.Background(), contract.EchoName(name), func(s *core.Service) error {
			s.Handle("echo", func(_ *core.Context, args []any) ([]any, error) { return args, nil })
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(n.stop)
	return n, nil
}

// stop leaves gracefully.
func (n *testNode) stop() {
	n.once.Do(func() {
		n.cl.Leave()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = n.core.Stop(ctx)
		n.cancel()
		if err := <-n.done; err != nil {
			n.t.Errorf("Run: %v", err)
		}
		_ = n.cl.Close(ctx)
	})
}

// crash cuts the node off without telling anybody; its core is stopped at
// cleanup.
func (n *testNode) crash() {
	n.once.Do(func() {
		_ = n.cl.tr.Close()
		n.cancel()
		<-n.done //nolint:errcheck // a crashed node's Run result does not matter
		n.t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = n.core.Stop(ctx)
		})
	})
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (n *testNode) upNodes() []string {
	var out []string
	for _, e := range n.cl.Nodes() {
		if e.Up {
			out = append(out, e.Name)
		}
	}
	return out
}

func (n *testNode) knows(name string) bool {
	for _, e := range n.cl.Names() {
		if e.Name == name {
			return true
		}
	}
	return false
}

func (n *testNode) call(name string, args ...any) ([]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	id, err := n.core.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return n.core.Call(ctx, id, "echo", args...)
}

// cluster3 starts a master and slaves a and b.
func cluster3(t *testing.T) (m, a, b *testNode) {
	t.Helper()
	m = startNode(t, contract.RoleMaster, "m", "127.0.0.1:0", "")
	a = startNode(t, contract.RoleSlave, "a", "127.0.0.1:0", m.cl.Addr())
	b = startNode(t, contract.RoleSlave, "b", "127.0.0.1:0", m.cl.Addr())
	for _, n := range []*testNode{m, a, b} {
		eventually(t, n.cl.Name()+" sees 3 nodes and names", 2*time.Second, func() bool {
			return len(n.upNodes()) == 3 && n.knows("echo:m") && n.knows("echo:a") && n.knows("echo:b")
		})
	}
	return m, a, b
}

func TestJoinAssignsIDsAndPushesNames(t *testing.T) {
	m, a, b := cluster3(t)
	if m.cl.ID() != core.NodeID(MasterID) || a.cl.ID() == b.cl.ID() || a.cl.ID() <= 1 || b.cl.ID() <= 1 {
		t.Fatalf("ids m=%d a=%d b=%d", m.cl.ID(), a.cl.ID(), b.cl.ID())
	}
	for _, n := range []*testNode{m, a, b} {
		if !n.cl.Ready() {
			t.Fatalf("%s not ready", n.cl.Name())
		}
		v := n.cl.View()
		if len(v.Nodes) != 3 || len(v.Globals) != 3 {
			t.Fatalf("%s view %+v", n.cl.Name(), v)
		}
	}
}

func TestSlaveToSlaveIsDirect(t *testing.T) {
	m, a, b := cluster3(t)
	mIn, mOut := totals(m.cl.Stats())
	for i := range 50 {
		ret, err := a.call("echo:b", i, "x")
		if err != nil {
			t.Fatal(err)
		}
		if len(ret) != 2 || ret[0] != i || ret[1] != "x" {
			t.Fatalf("echo returned %v", ret)
		}
	}
	if in, out := totals(m.cl.Stats()); in != mIn || out != mOut {
		t.Fatalf("master carried data: in %d→%d out %d→%d", mIn, in, mOut, out)
	}
	if got := b.cl.Stats().In[core.KindCall].Load(); got < 50 {
		t.Fatalf("b received %d calls", got)
	}
	// And to and from the master's own services.
	if _, err := a.call("echo:m", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := m.call("echo:a", 1); err != nil {
		t.Fatal(err)
	}
}

func totals(s *Stats) (in, out uint64) {
	for i := range s.In {
		in += s.In[i].Load()
		out += s.Out[i].Load()
	}
	return in, out
}

func TestLookupUnknownNameTimesOut(t *testing.T) {
	_, a, _ := cluster3(t)
	start := time.Now()
	_, err := a.cl.Lookup(context.Background(), "nobody")
	if !errors.Is(err, core.ErrServiceNotFound) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Fatal("lookup did not honour its timeout")
	}
}

func TestLookupWaitsForName(t *testing.T) {
	m, a, _ := cluster3(t)
	got := make(chan error, 1)
	go func() {
		_, err := a.cl.Lookup(context.Background(), "late")
		got <- err
	}()
	if _, err := m.core.Spawn(context.Background(), "late", func(*core.Service) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}

func TestNameConflictRefused(t *testing.T) {
	_, a, b := cluster3(t)
	if _, err := a.core.Spawn(context.Background(), "unique", func(*core.Service) error { return nil }); err != nil {
		t.Fatal(err)
	}
	eventually(t, "b learns the name", time.Second, func() bool { return b.knows("unique") })
	_, err := b.core.Spawn(context.Background(), "unique", func(*core.Service) error { return nil })
	if !errors.Is(err, core.ErrNameTaken) {
		t.Fatalf("err = %v, want ErrNameTaken", err)
	}
}

func TestWrongTokenRefused(t *testing.T) {
	m := startNode(t, contract.RoleMaster, "m", "127.0.0.1:0", "")
	_, err := tryStartNode(t, contract.RoleSlave, "intruder", "127.0.0.1:0", m.cl.Addr(), withToken("wrong"),
		func(o *Options) {})
	if !errors.Is(err, ErrNotJoined) {
		t.Fatalf("err = %v", err)
	}
	eventually(t, "rejection logged", time.Second, func() bool {
		return strings.Contains(m.logs.String(), "Rejected peer") && strings.Contains(m.logs.String(), "127.0.0.1:")
	})
	if len(m.upNodes()) != 1 {
		t.Fatal("intruder joined")
	}
}

func TestClientCallsAndIsNotListed(t *testing.T) {
	m, _, b := cluster3(t)
	c := startNode(t, RoleClient, "ctl", "", m.cl.Addr())
	ret, err := c.call("echo:b", "hi")
	if err != nil || len(ret) != 1 || ret[0] != "hi" {
		t.Fatalf("ret=%v err=%v", ret, err)
	}
	if _, err := c.call("echo:m", 1); err != nil {
		t.Fatal(err)
	}
	if got := len(m.cl.Nodes()); got != 3 {
		t.Fatalf("master lists %d nodes", got)
	}
	_ = b
}
