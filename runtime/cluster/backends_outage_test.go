package cluster_test

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/core"
)

// outage is how long etcd stays down in testEtcdOutage: 10s with TCP
// delivery, 3s with NATS (the same path; keeps the suite short), or
// $LOTOU_TEST_OUTAGE (a Go duration) for both.
func outage(c combo) time.Duration {
	if d, err := time.ParseDuration(os.Getenv("LOTOU_TEST_OUTAGE")); err == nil && d > 0 {
		return d
	}
	if c.nats {
		return 3 * time.Second
	}
	return 10 * time.Second
}

// testEtcdOutage: while etcd is away, traffic between nodes goes on, lookups
// are served from the cache and registrations fail fast with
// ErrBackendDown; once etcd is back the cluster re-forms with the same
// nodes, names and ids, none restarted.
func testEtcdOutage(w *world) {
	m, a, b := w.three()
	ids := map[string]uint16{"m": uint16(m.cl.ID()), "a": uint16(a.cl.ID()), "b": uint16(b.cl.ID())}
	w.srv.etcd.Stop()
	down := time.Now()
	if _, err := a.call("echo:b", "echo", 2*time.Second); err != nil {
		w.t.Fatalf("a calls b while etcd is down: %v", err)
	}
	start := time.Now()
	_, err := a.core.Spawn(context.Background(), "during-outage", func(*core.Service) error { return nil })
	if !errors.Is(err, cluster.ErrBackendDown) {
		w.t.Fatalf("registering while etcd is down: %v, want ErrBackendDown", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		w.t.Fatalf("registration failed only after %v", d)
	}
	w.t.Logf("registration during the outage failed in %v: %v", time.Since(start).Round(time.Millisecond), err)
	waitFor(w.t, "a no longer ready (lease lost)", 5*time.Second, func() bool { return !a.cl.Ready() })
	time.Sleep(time.Until(down.Add(outage(w.c))))
	if err := w.srv.etcd.Start(); err != nil {
		w.t.Fatal(err)
	}
	back := time.Now()
	for _, n := range []*member{m, a, b} {
		waitFor(w.t, n.name+" serves again with everyone", 20*time.Second, func() bool {
			up := n.upNames()
			return n.cl.Ready() && len(up) == 3 && up["a"] == ids["a"] && up["b"] == ids["b"] && up["m"] == ids["m"] &&
				n.knows("echo:m") && n.knows("echo:a") && n.knows("echo:b")
		})
	}
	w.t.Logf("cluster re-formed %v after etcd came back", time.Since(back).Round(time.Millisecond))
	if _, err := a.core.Spawn(context.Background(), "after-outage", func(*core.Service) error { return nil }); err != nil {
		w.t.Fatalf("registering after the outage: %v", err)
	}
	waitFor(w.t, "b learns after-outage", 2*time.Second, func() bool { return b.knows("after-outage") })
	if _, err := b.call("echo:a", "echo", 2*time.Second); err != nil {
		w.t.Fatalf("b calls a after the outage: %v", err)
	}
}

// testNATSRestart: while NATS is away, calls fail at once with
// ErrBackendDown; after it restarts calls work again, no node restarted.
func testNATSRestart(w *world) {
	_, a, b := w.three()
	if _, err := a.call("echo:b", "echo", 2*time.Second); err != nil {
		w.t.Fatal(err)
	}
	w.srv.nats.Stop()
	waitFor(w.t, "a sees NATS gone", 2*time.Second, func() bool { return !a.links.Connected() })
	start := time.Now()
	_, err := a.call("echo:b", "echo", 5*time.Second)
	if !errors.Is(err, cluster.ErrBackendDown) {
		w.t.Fatalf("call while NATS is down: %v, want ErrBackendDown", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		w.t.Fatalf("call failed only after %v", d)
	}
	w.t.Logf("call during the NATS outage failed in %v: %v", time.Since(start).Round(time.Microsecond), err)
	if err := w.srv.nats.Start(); err != nil {
		w.t.Fatal(err)
	}
	waitFor(w.t, "a and b reconnect and call each other", 10*time.Second, func() bool {
		_, err1 := a.call("echo:b", "echo", 300*time.Millisecond)
		_, err2 := b.call("echo:a", "echo", 300*time.Millisecond)
		return err1 == nil && err2 == nil
	})
	if d := a.links.Stats().Disconnects.Load(); d == 0 {
		w.t.Fatal("no disconnect counted")
	}
}
