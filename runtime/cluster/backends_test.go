package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/etcd"
	"github.com/lotou-io/lotou/runtime/etcd/etcdtest"
	"github.com/lotou-io/lotou/runtime/nats"
	"github.com/lotou-io/lotou/runtime/nats/natstest"
)

// The cluster suite over every backend combination: discovery by the master
// registry or etcd, delivery over direct TCP or NATS. The servers are real
// and started by the test on loopback: etcd as a process, NATS embedded.

const backendHB = 100 * time.Millisecond

type combo struct {
	name       string
	etcd, nats bool
}

var combos = []combo{
	{name: "master+tcp"},
	{name: "etcd+tcp", etcd: true},
	{name: "master+nats", nats: true},
	{name: "etcd+nats", etcd: true, nats: true},
}

// servers are shared by the whole suite; each cluster gets its own prefix.
type servers struct {
	etcd *etcdtest.Server
	nats *natstest.Server
}

var clusterSeq atomic.Uint64

// world is one cluster under one combination.
type world struct {
	t      *testing.T
	c      combo
	srv    *servers
	prefix string
	master string // master registry address (master discovery)
	// beforeAttach, if set, runs between a node's Join and its Attach.
	beforeAttach func(id core.NodeID)
}

func newWorld(t *testing.T, c combo, srv *servers) *world {
	return &world{t: t, c: c, srv: srv, prefix: fmt.Sprintf("suite%d", clusterSeq.Add(1))}
}

// member is one node of a world.
type member struct {
	t       *testing.T
	name    string
	cl      *cluster.Cluster
	core    *core.Core
	links   *nats.Links
	cancel  context.CancelFunc
	done    chan error
	once    sync.Once
	runErr  error
	release chan struct{} // unblocks the "hang" handler
	codec   *codec.Registry
}

func backendCodec() *codec.Registry {
	r := codec.NewRegistry()
	if err := r.RegisterName("lotou.ServiceID", core.ServiceID(0)); err != nil {
		panic(err)
	}
	return r
}

// start starts a node: a master (master discovery: the registry; etcd: an
// ordinary member) or a slave, with an echo service "echo:<name>".
func (w *world) start(role, name, listen string) *member {
	w.t.Helper()
	m, err := w.tryStart(role, name, listen)
	if err != nil {
		w.t.Fatalf("starting %s: %v", name, err)
	}
	return m
}

func (w *world) tryStart(role, name, listen string) (*member, error) {
	w.t.Helper()
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	o := cluster.Options{Role: role, Name: name, Listen: listen, Master: w.master, Token: []byte("secret"),
		Heartbeat: backendHB, LookupTimeout: 300 * time.Millisecond, Codec: backendCodec(), BackoffMax: 50 * time.Millisecond}
	m := &member{t: w.t, name: name, done: make(chan error, 1), release: make(chan struct{}), codec: o.Codec}
	if w.c.etcd {
		d, err := etcd.New(etcd.Options{Endpoints: []string{w.srv.etcd.Endpoint()}, Prefix: "/" + w.prefix,
			TTL: 2 * time.Second, OpTimeout: time.Second, Retry: 100 * time.Millisecond})
		if err != nil {
			return nil, err
		}
		o.Discovery = d
	}
	if w.c.nats {
		l, err := nats.New(nats.Options{URL: w.srv.nats.URL(), Prefix: w.prefix, Name: name, Token: "nats-secret",
			ReconnectWait: 50 * time.Millisecond})
		if err != nil {
			return nil, err
		}
		o.Links, m.links = l, l
	}
	cl, err := cluster.New(o)
	if err != nil {
		return nil, err
	}
	if _, err := cl.Start(); err != nil {
		return nil, err
	}
	if role == contract.RoleMaster && !w.c.etcd {
		w.master = cl.Addr()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := cl.Join(ctx)
	if err != nil {
		_ = cl.Close(context.Background())
		return nil, err
	}
	k, err := core.New(core.Options{Node: id})
	if err != nil {
		return nil, err
	}
	if w.beforeAttach != nil {
		w.beforeAttach(id)
	}
	if err := cl.Attach(k); err != nil {
		return nil, err
	}
	rctx, rcancel := context.WithCancel(context.Background())
	m.cl, m.core, m.cancel = cl, k, rcancel
	go func() { m.done <- cl.Run(rctx) }() // joined by stop/crash
	w.t.Cleanup(m.stop)
	if _, err := k.Spawn(ctx, contract.EchoName(name), func(s *core.Service) error {
		s.Handle("echo", func(_ *core.Context, args []any) ([]any, error) { return args, nil })
		s.Handle("hang", func(_ *core.Context, _ []any) ([]any, error) { <-m.release; return nil, nil })
		return nil
	}); err != nil {
		return nil, fmt.Errorf("spawning echo: %w", err)
	}
	return m, nil
}

// stop leaves gracefully.
func (m *member) stop() {
	m.once.Do(func() {
		close(m.release)
		m.cl.Leave()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = m.core.Stop(ctx)
		m.cancel()
		m.runErr = <-m.done
		_ = m.cl.Close(ctx)
	})
}

// crash stops the node without leaving: its connections close and its
// lease (etcd) is no longer kept alive.
func (m *member) crash() {
	m.once.Do(func() {
		m.cancel()
		m.runErr = <-m.done
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = m.cl.Close(ctx)
		close(m.release)
		_ = m.core.Stop(ctx)
	})
}

func (m *member) upNames() map[string]uint16 {
	out := map[string]uint16{}
	for _, e := range m.cl.Nodes() {
		if e.Up {
			out[e.Name] = e.ID
		}
	}
	return out
}

func (m *member) knows(name string) bool {
	for _, e := range m.cl.Names() {
		if e.Name == name {
			return true
		}
	}
	return false
}

func (m *member) call(name, cmd string, within time.Duration) ([]any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	id, err := m.core.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return m.core.Call(ctx, id, cmd, name)
}

func waitFor(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// three starts a master and slaves a and b and waits until everyone sees
// everyone.
func (w *world) three() (m, a, b *member) {
	w.t.Helper()
	m = w.start(contract.RoleMaster, "m", "")
	a = w.start(contract.RoleSlave, "a", "")
	b = w.start(contract.RoleSlave, "b", "")
	for _, n := range []*member{m, a, b} {
		waitFor(w.t, n.name+" sees 3 nodes and their names", 5*time.Second, func() bool {
			return len(n.upNames()) == 3 && n.knows("echo:m") && n.knows("echo:a") && n.knows("echo:b")
		})
	}
	return m, a, b
}

// detect is how long a crashed node may stay listed up.
func (w *world) detect() time.Duration {
	if w.c.etcd {
		return 4 * time.Second // lease 2s, etcd's expiry check, the watch
	}
	return contract.MissedHeartbeats*backendHB + time.Second
}

func TestBackends(t *testing.T) {
	srv := &servers{nats: natstest.Start(t, "nats-secret")}
	if etcdtest.Binary() != "" {
		srv.etcd = etcdtest.Start(t)
	}
	for _, c := range combos {
		t.Run(c.name, func(t *testing.T) {
			if c.etcd && srv.etcd == nil {
				t.Skip("no etcd binary: run hack/setup-envtest.sh etcd, or set LOTOU_ETCD_BIN")
			}
			for _, tc := range backendCases {
				if tc.applies != nil && !tc.applies(c) {
					continue
				}
				t.Run(tc.name, func(t *testing.T) { tc.run(newWorld(t, c, srv)) })
			}
		})
	}
}

type backendCase struct {
	name    string
	applies func(combo) bool
	run     func(w *world)
}

var backendCases = []backendCase{
	{name: "membership, names and calls", run: testMembership},
	{name: "duplicate global name refused", run: testDuplicateName},
	{name: "crash fails pending calls and drops names", run: testCrash},
	{name: "crash of a draining node fails its pending calls", run: testDrainingCrash},
	{name: "graceful leave is immediate", run: testLeave},
	{name: "a call the callee cannot decode fails at once", run: testUndecodable},
	{name: "a live node keeps its name, a crashed one is replaced", run: testIncarnation},
	{name: "master restart", applies: func(c combo) bool { return !c.etcd }, run: testMasterRestart},
	{name: "frames to a starting node are not lost", run: testStartingNode},
	{name: "etcd outage", applies: func(c combo) bool { return c.etcd }, run: testEtcdOutage},
	{name: "NATS restart", applies: func(c combo) bool { return c.nats }, run: testNATSRestart},
}

func testMembership(w *world) {
	m, a, b := w.three()
	ids := map[uint16]bool{}
	for _, n := range []*member{m, a, b} {
		if ids[uint16(n.cl.ID())] {
			w.t.Fatalf("id %d given twice", n.cl.ID())
		}
		ids[uint16(n.cl.ID())] = true
		for _, to := range []string{"echo:m", "echo:a", "echo:b"} {
			out, err := n.call(to, "echo", 2*time.Second)
			if err != nil || len(out) != 1 || out[0] != to {
				w.t.Fatalf("%s calls %s: %v %v", n.name, to, out, err)
			}
		}
	}
	if w.c.nats {
		if f := a.links.Stats().Frames.Load(); f < 2 {
			w.t.Fatalf("a sent %d frames over NATS, want its calls and replies", f)
		}
	}
}

func testDuplicateName(w *world) {
	_, a, b := w.three()
	ctx := context.Background()
	s, err := a.core.Spawn(ctx, "dup", func(*core.Service) error { return nil })
	if err != nil {
		w.t.Fatal(err)
	}
	waitFor(w.t, "b learns dup", 2*time.Second, func() bool { return b.knows("dup") })
	if _, err := b.core.Spawn(ctx, "dup", func(*core.Service) error { return nil }); !errors.Is(err, core.ErrNameTaken) {
		w.t.Fatalf("second holder of dup: %v, want ErrNameTaken", err)
	}
	s.Exit()
	waitFor(w.t, "dup released", 2*time.Second, func() bool { return !b.knows("dup") })
	if _, err := b.core.Spawn(ctx, "dup", func(*core.Service) error { return nil }); err != nil {
		w.t.Fatalf("dup after release: %v", err)
	}
}

func testCrash(w *world) {
	m, a, b := w.three()
	callErr := make(chan error, 1)
	go func() {
		_, err := a.call("echo:b", "hang", 30*time.Second)
		callErr <- err
	}()
	waitFor(w.t, "the call reaches b", 5*time.Second, func() bool { return b.cl.Stats().In[core.KindCall].Load() > 0 })
	b.crash()
	select {
	case err := <-callErr:
		if !errors.Is(err, core.ErrNodeDown) {
			w.t.Fatalf("pending call: %v, want ErrNodeDown", err)
		}
	case <-time.After(w.detect()):
		w.t.Fatalf("pending call still waiting %v after the crash", w.detect())
	}
	for _, n := range []*member{m, a} {
		waitFor(w.t, n.name+" sees b down", w.detect(), func() bool {
			_, up := n.upNames()["b"]
			return !up && !n.knows("echo:b")
		})
	}
	// A name of a node known down fails at once (it was not sent). With etcd
	// discovery the crashed node's key goes with its lease, so its names are
	// simply gone: not found.
	want := core.ErrNodeDown
	if w.c.etcd {
		want = core.ErrServiceNotFound
	}
	if _, err := a.call("echo:b", "echo", time.Second); !errors.Is(err, want) {
		w.t.Fatalf("call to the crashed node's name: %v, want %v", err, want)
	}
}

// testDrainingCrash: calls pending on a node that drains and then crashes
// (it never answers) fail with ErrNodeDown soon after the crash is seen: the
// grace a drained node's replies get runs with every backend.
func testDrainingCrash(w *world) {
	_, a, b := w.three()
	callErr := make(chan error, 1)
	go func() {
		_, err := a.call("echo:b", "hang", 30*time.Second)
		callErr <- err
	}()
	waitFor(w.t, "the call reaches b", 5*time.Second, func() bool { return b.cl.Stats().In[core.KindCall].Load() > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	b.cl.Drain(ctx)
	cancel()
	waitFor(w.t, "a sees b draining", 3*time.Second, func() bool {
		for _, e := range a.cl.Nodes() {
			if e.Name == "b" && e.Draining {
				return true
			}
		}
		return false
	})
	b.crash()
	within := w.detect() + 2*backendHB
	select {
	case err := <-callErr:
		if !errors.Is(err, core.ErrNodeDown) {
			w.t.Fatalf("pending call: %v, want ErrNodeDown", err)
		}
	case <-time.After(within):
		w.t.Fatalf("pending call still waiting %v after the draining node crashed", within)
	}
}

func testLeave(w *world) {
	m, a, b := w.three()
	start := time.Now()
	b.stop()
	for _, n := range []*member{m, a} {
		waitFor(w.t, n.name+" sees b gone", time.Second, func() bool {
			_, up := n.upNames()["b"]
			return !up && !n.knows("echo:b")
		})
	}
	if b.runErr != nil {
		w.t.Fatalf("b's Run: %v", b.runErr)
	}
	w.t.Logf("leave seen everywhere after %v", time.Since(start))
}

func testIncarnation(w *world) {
	m, a, _ := w.three()
	old := uint16(a.cl.ID())
	if _, err := w.tryStart(contract.RoleSlave, "a", ""); !errors.Is(err, cluster.ErrDuplicateName) {
		w.t.Fatalf("second live node named a: %v, want ErrDuplicateName", err)
	}
	if m.upNames()["a"] != old {
		w.t.Fatalf("the live a lost its entry: %v", m.upNames())
	}
	a.crash()
	if !w.c.etcd {
		// The rule: a newcomer takes the name once the old holder is down. With master discovery the
		// master learns that from the closed link, which can race a restart that is only milliseconds
		// later (a real pod restart takes seconds); wait for the verdict as the restarted pod would.
		waitFor(w.t, "m sees the crashed a down", w.detect(), func() bool {
			_, up := m.upNames()["a"]
			return !up
		})
	}
	a2 := w.start(contract.RoleSlave, "a", "") // waits out the crashed one's lease (etcd)
	if uint16(a2.cl.ID()) == old && w.c.etcd {
		w.t.Fatalf("etcd gave the old id %d again", old)
	}
	waitFor(w.t, "m sees the new a", w.detect(), func() bool {
		return m.upNames()["a"] == uint16(a2.cl.ID()) && m.knows("echo:a")
	})
	if _, err := m.call("echo:a", "echo", 2*time.Second); err != nil {
		w.t.Fatalf("m calls the new a: %v", err)
	}
}

func testMasterRestart(w *world) {
	m, a, b := w.three()
	addr := w.master
	start := time.Now()
	m.crash()
	waitFor(w.t, "a notices", 2*time.Second, func() bool { return !a.cl.Ready() })
	m2 := w.start(contract.RoleMaster, "m", addr)
	for _, n := range []*member{m2, a, b} {
		waitFor(w.t, n.name+" sees the cluster again", 5*time.Second, func() bool {
			return len(n.upNames()) == 3 && n.knows("echo:a") && n.knows("echo:b") && n.knows("echo:m")
		})
	}
	w.t.Logf("cluster re-formed %v after the master crashed", time.Since(start).Round(time.Millisecond))
	if _, err := a.call("echo:b", "echo", 2*time.Second); err != nil {
		w.t.Fatalf("a calls b after the master restart: %v", err)
	}
	if _, err := b.call("echo:m", "echo", 2*time.Second); err != nil {
		w.t.Fatalf("b calls the new master: %v", err)
	}
	// Slaves that leave while their master is gone must not wait out their
	// close deadline re-dialling it (they did, 2 s each: the 4 s this case
	// took at cleanup, where the new master stops first).
	m2.stop()
	waitFor(w.t, "a and b notice", 2*time.Second, func() bool { return !a.cl.Ready() && !b.cl.Ready() })
	leave := time.Now()
	a.stop()
	b.stop()
	if d := time.Since(leave); d > time.Second {
		w.t.Fatalf("a and b took %v to leave without a master", d)
	}
}

// secret is registered in a's codec only: b cannot decode it.
type secret struct{ X int }

func testUndecodable(w *world) {
	_, a, _ := w.three()
	if err := a.codec.RegisterName("test.secret", secret{}); err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := a.core.Lookup(ctx, "echo:b")
	if err != nil {
		w.t.Fatal(err)
	}
	start := time.Now()
	_, err = a.core.Call(ctx, id, "echo", secret{X: 1})
	if !errors.Is(err, core.ErrUndeliverable) {
		w.t.Fatalf("call with a type b does not know: %v, want ErrUndeliverable", err)
	}
	if d := time.Since(start); d > time.Second {
		w.t.Fatalf("failed only after %v", d)
	}
}
