package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/etcd/etcdtest"
)

// TestStopIsTwoPhaseLeave: Calls queued on a slave when its Run ctx ends
// (lotou-node on SIGTERM) all run and their callers get the replies; while
// it drains, new Calls to it fail fast with core.ErrNodeDraining. With the
// master registry and with etcd discovery (the draining mark goes through
// etcd).
func TestStopIsTwoPhaseLeave(t *testing.T) {
	t.Run("master", func(t *testing.T) { testTwoPhaseLeave(t, Backends{}) })
	t.Run("etcd", func(t *testing.T) {
		if etcdtest.Binary() == "" {
			t.Skip("no etcd binary: run hack/setup-envtest.sh etcd, or set LOTOU_ETCD_BIN")
		}
		srv := etcdtest.Start(t)
		testTwoPhaseLeave(t, Backends{Discovery: contract.DiscoveryEtcd, EtcdEndpoints: []string{srv.Endpoint()},
			EtcdPrefix: "/leave", EtcdTTL: 2 * time.Second})
	})
}

func testTwoPhaseLeave(t *testing.T, b Backends) {
	m := run(t, Options{Name: "m", Role: contract.RoleMaster, Backends: b})
	release := make(chan struct{})
	master := m.n.Addr()
	if b.Discovery == contract.DiscoveryEtcd {
		master = ""
	}
	s := run(t, Options{Name: "s", Role: contract.RoleSlave, Master: master, Backends: b, Start: func(ctx context.Context, k *core.Core) error {
		_, err := k.Spawn(ctx, "work", func(s *core.Service) error {
			s.Handle("do", func(i int) int {
				<-release
				return i + 100
			})
			return nil
		})
		return err
	}})
	k := m.n.Core()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var id core.ServiceID
	waitFor(t, "m learns work", func() bool {
		var err error
		id, err = k.Lookup(ctx, "work")
		return err == nil
	})
	type result struct {
		i   int
		ret []any
		err error
	}
	results := make(chan result, 3)
	for i := range 3 {
		go func() {
			ret, err := k.Call(ctx, id, "do", i)
			results <- result{i, ret, err}
		}()
	}
	waitFor(t, "calls reach s", func() bool { return s.n.cl.Stats().In[core.KindCall].Load() >= 3 })
	_, metrics := get(t, m, contract.PathMetrics)
	for _, want := range []string{`lotou_messages_dropped_total{reason="decode"} 0`, `lotou_send_queue_bytes{peer=`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		s.stop() // the Run ctx ends, as on SIGTERM
	}()
	waitFor(t, "m learns s drains", func() bool {
		for _, e := range m.n.cl.Nodes() {
			if e.Name == "s" && e.Draining {
				return true
			}
		}
		return false
	})
	if _, err := k.Call(ctx, id, "do", 7); !errors.Is(err, core.ErrNodeDraining) {
		t.Errorf("new call while s drains: %v, want ErrNodeDraining", err)
	}
	close(release)
	for range 3 {
		r := <-results
		if r.err != nil || len(r.ret) != 1 || fmt.Sprint(r.ret[0]) != fmt.Sprint(r.i+100) {
			t.Errorf("call %d accepted before the stop: %v %v, want its reply", r.i, r.ret, r.err)
		}
	}
	<-stopped
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
