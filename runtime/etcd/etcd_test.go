package etcd_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/etcd"
	"github.com/lotou-io/lotou/runtime/etcd/etcdtest"
)

// feed records what a Discovery reports, applied to a View as the cluster
// does.
type feed struct {
	mu      sync.Mutex
	view    *cluster.View
	serving []bool
	batches []int // names per CtlNameAdd
}

func (f *feed) Apply(m *cluster.Control) {
	f.mu.Lock()
	f.view.Apply(m)
	if m.Type == cluster.CtlNameAdd {
		f.batches = append(f.batches, max(len(m.Names), 1))
	}
	f.mu.Unlock()
}

func (f *feed) Serving(ok bool, _ error) {
	f.mu.Lock()
	f.serving = append(f.serving, ok)
	f.mu.Unlock()
}

func (f *feed) lookup(name string) (uint64, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.view.Lookup(name)
}

func (f *feed) up(id uint16) bool {
	n, ok := f.node(id)
	return ok && n.Up
}

func (f *feed) node(id uint16) (cluster.NodeEntry, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.view.Node(id)
}

type member struct {
	d    *etcd.Discovery
	f    *feed
	id   uint16
	stop func()
}

func join(t *testing.T, srv *etcdtest.Server, prefix, name string) *member {
	t.Helper()
	m := joinAs(t, srv, prefix, name, "slave")
	if err := m.d.Announce(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

// joinAs joins without announcing.
func joinAs(t *testing.T, srv *etcdtest.Server, prefix, name, role string) *member {
	t.Helper()
	d, err := etcd.New(etcd.Options{Endpoints: []string{srv.Endpoint()}, Prefix: prefix, TTL: 2 * time.Second,
		OpTimeout: time.Second, Retry: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := &feed{view: cluster.NewView()}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := d.Join(ctx, cluster.NodeEntry{Name: name, Addr: "127.0.0.1:1", Role: role}, f)
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = d.Run(rctx); close(done) }() // joined by stop
	m := &member{d: d, f: f, id: id}
	var once sync.Once
	m.stop = func() {
		once.Do(func() {
			rcancel()
			<-done
			_ = d.Close()
		})
	}
	t.Cleanup(m.stop)
	return m
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

func TestNewRefuses(t *testing.T) {
	if _, err := etcd.New(etcd.Options{Prefix: "/p"}); err == nil {
		t.Fatal("no endpoints accepted")
	}
	if _, err := etcd.New(etcd.Options{Endpoints: []string{"http://127.0.0.1:1"}}); err == nil {
		t.Fatal("no prefix accepted")
	}
}

func TestDiscovery(t *testing.T) {
	srv := etcdtest.Start(t)
	t.Run("ids are allocated once and never reused", func(t *testing.T) {
		a := join(t, srv, "/ids", "a")
		b := join(t, srv, "/ids", "b")
		if a.id == b.id || a.id <= cluster.MasterID || b.id <= cluster.MasterID {
			t.Fatalf("ids %d and %d", a.id, b.id)
		}
		if err := b.d.Leave(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.stop()
		c := join(t, srv, "/ids", "c")
		if c.id == b.id || c.id == a.id {
			t.Fatalf("id %d reused", c.id)
		}
	})
	t.Run("names: pushed to every node, duplicates refused, freed by leave", func(t *testing.T) {
		a := join(t, srv, "/names", "a")
		b := join(t, srv, "/names", "b")
		ctx := context.Background()
		svcA := uint64(core.MakeID(core.NodeID(a.id), 1))
		svcB := uint64(core.MakeID(core.NodeID(b.id), 1))
		if err := a.d.AddName(ctx, "n", svcA); err != nil {
			t.Fatal(err)
		}
		if err := a.d.AddName(ctx, "n", svcA); err != nil {
			t.Fatalf("registering again: %v", err)
		}
		waitFor(t, "b learns n", 2*time.Second, func() bool { v, ok := b.f.lookup("n"); return ok && v == svcA })
		if err := b.d.AddName(ctx, "n", svcB); !errors.Is(err, core.ErrNameTaken) {
			t.Fatalf("duplicate: %v, want ErrNameTaken", err)
		}
		if err := b.d.AddName(ctx, "m", svcA); !errors.Is(err, core.ErrBadArgs) {
			t.Fatalf("another node's service: %v, want ErrBadArgs", err)
		}
		if err := a.d.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b sees a gone with its name", 2*time.Second, func() bool {
			_, ok := b.f.lookup("n")
			return !ok && !b.f.up(a.id)
		})
		if err := b.d.AddName(ctx, "n", svcB); err != nil {
			t.Fatalf("name after its holder left: %v", err)
		}
	})
	t.Run("a crashed node's lease expires", func(t *testing.T) {
		a := join(t, srv, "/crash", "a")
		b := join(t, srv, "/crash", "b")
		svcA := uint64(core.MakeID(core.NodeID(a.id), 1))
		if err := a.d.AddName(context.Background(), "x", svcA); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b sees a", 2*time.Second, func() bool { _, ok := b.f.lookup("x"); return ok && b.f.up(a.id) })
		a.stop() // no Leave: the lease is simply no longer kept alive
		start := time.Now()
		waitFor(t, "b sees a down", 5*time.Second, func() bool { _, ok := b.f.lookup("x"); return !ok && !b.f.up(a.id) })
		t.Logf("crash detected after %v (lease 2s)", time.Since(start).Round(time.Millisecond))
	})
}

func TestPhases(t *testing.T) {
	srv := etcdtest.Start(t)
	ctx := context.Background()
	t.Run("a joining node is listed but not up until announced", func(t *testing.T) {
		a := join(t, srv, "/announce", "a")
		b := joinAs(t, srv, "/announce", "b", "slave")
		waitFor(t, "a lists b as joining", 2*time.Second, func() bool { n, ok := a.f.node(b.id); return ok && !n.Up })
		if err := b.d.Announce(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a sees b up", 2*time.Second, func() bool { return a.f.up(b.id) })
	})
	t.Run("draining is seen by every node, and by the node itself", func(t *testing.T) {
		a := join(t, srv, "/drain", "a")
		b := join(t, srv, "/drain", "b")
		waitFor(t, "a sees b", 2*time.Second, func() bool { return a.f.up(b.id) })
		if err := b.d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		for _, m := range []*member{a, b} {
			waitFor(t, "b draining", 2*time.Second, func() bool { n, ok := m.f.node(b.id); return ok && n.Up && n.Draining })
		}
		if err := b.d.Leave(ctx); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "b gone", 2*time.Second, func() bool { _, ok := a.f.node(b.id); return !ok })
	})
	t.Run("names written in one revision reach the View as one batch", func(t *testing.T) {
		a := join(t, srv, "/batch", "a")
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.Endpoint()}, DialTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		svc := strconv.FormatUint(uint64(core.MakeID(core.NodeID(a.id), 1)), 10)
		if _, err := cli.Txn(ctx).Then(clientv3.OpPut("/batch/names/x", svc), clientv3.OpPut("/batch/names/y", svc),
			clientv3.OpPut("/batch/names/z", svc)).Commit(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "a learns x, y and z", 2*time.Second, func() bool {
			_, x := a.f.lookup("x")
			_, y := a.f.lookup("y")
			_, z := a.f.lookup("z")
			return x && y && z
		})
		a.f.mu.Lock()
		defer a.f.mu.Unlock()
		if len(a.f.batches) != 1 || a.f.batches[0] != 3 {
			t.Fatalf("names reached the feed in batches %v, want one of 3", a.f.batches)
		}
	})
	t.Run("clients borrow ids outside the node range and are not listed", func(t *testing.T) {
		a := join(t, srv, "/client", "a")
		c1 := joinAs(t, srv, "/client", "ctl", cluster.RoleClient)
		c2 := joinAs(t, srv, "/client", "ctl", cluster.RoleClient) // the same name twice: clients keep none
		if c1.id < 0xff00 || c2.id < 0xff00 || c1.id == c2.id {
			t.Fatalf("client ids %d and %d", c1.id, c2.id)
		}
		if err := c1.d.Announce(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c1.d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		b := join(t, srv, "/client", "b")
		waitFor(t, "a sees b", 2*time.Second, func() bool { return a.f.up(b.id) })
		if _, ok := a.f.node(c1.id); ok {
			t.Fatalf("client %d listed as a node", c1.id)
		}
		if b.id >= 0xff00 || b.id == a.id {
			t.Fatalf("node id %d", b.id)
		}
		waitFor(t, "the client sees b", 2*time.Second, func() bool { return c1.f.up(b.id) })
	})
}
