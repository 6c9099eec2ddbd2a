package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/etcd/etcdtest"
	"github.com/lotou-io/lotou/runtime/nats/natstest"
	"github.com/lotou-io/lotou/runtime/node"
)

// TestEtcdDiscovery: every command that works against a master works with
// --discovery etcd: status (nodes and names), call and bench against a
// global name, over a cluster whose nodes use TCP and one whose nodes use
// NATS (the client always reaches them over TCP). The etcd server is real.
func TestEtcdDiscovery(t *testing.T) {
	if etcdtest.Binary() == "" {
		t.Skip("no etcd binary: run hack/setup-envtest.sh etcd, or set LOTOU_ETCD_BIN")
	}
	srv := etcdtest.Start(t)
	ns := natstest.Start(t, "")
	for _, tc := range []struct {
		name      string
		transport string
	}{{"tcp", contract.TransportTCP}, {"nats", contract.TransportNATS}} {
		t.Run(tc.name, func(t *testing.T) {
			token := "ctl-" + tc.name
			b := node.Backends{Discovery: contract.DiscoveryEtcd, EtcdEndpoints: []string{srv.Endpoint()},
				EtcdTTL: 2 * time.Second, Transport: tc.transport, NATSURL: ns.URL()}
			startNode(t, "m", contract.RoleMaster, token, b)
			startNode(t, "s", contract.RoleSlave, token, b)
			env := map[string]string{contract.EnvClusterToken: token, contract.EnvDiscovery: contract.DiscoveryEtcd}
			ctl := func(args ...string) (string, string, int) {
				var out, errb bytes.Buffer
				code := run(context.Background(), append([]string{"--etcd-endpoints", srv.Endpoint()}, args...),
					func(k string) string { return env[k] }, &out, &errb)
				return out.String(), errb.String(), code
			}
			var view contract.ClusterView
			deadline := time.Now().Add(10 * time.Second)
			for {
				out, errs, code := ctl("status", "-o", "json")
				if code != 0 {
					t.Fatalf("status: exit %d: %s", code, errs)
				}
				if err := json.Unmarshal([]byte(out), &view); err != nil {
					t.Fatalf("status output %q: %v", out, err)
				}
				if upNodes(view) == 2 && len(view.Globals) >= 2 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("status never showed both nodes and their names: %s", out)
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, n := range view.Nodes {
				if n.ID >= 0xff00 {
					t.Fatalf("a client is listed as a node: %+v", n)
				}
			}
			out, errs, code := ctl("call", "echo:s", "echo", `"hi"`, "7")
			if code != 0 || strings.TrimSpace(out) != `["hi",7]` {
				t.Fatalf("call: exit %d out %q err %q", code, out, errs)
			}
			out, errs, code = ctl("bench", "--target", "echo:m", "--duration", "300ms", "--concurrency", "2")
			m := regexp.MustCompile(`calls (\d+)  errors (\d+)`).FindStringSubmatch(out)
			if code != 0 || m == nil || m[1] == "0" || m[2] != "0" {
				t.Fatalf("bench: exit %d out %q err %q", code, out, errs)
			}
			if _, errs, code = ctl("call", "nobody", "echo"); code != 1 || !strings.Contains(errs, "not registered") {
				t.Fatalf("call to an unknown name: exit %d err %q", code, errs)
			}
		})
	}
}

func upNodes(v contract.ClusterView) int {
	n := 0
	for _, e := range v.Nodes {
		if e.Up {
			n++
		}
	}
	return n
}

// startNode runs a node with the echo service until the test ends.
func startNode(t *testing.T, name, role, token string, b node.Backends) {
	t.Helper()
	n, err := node.New(node.Options{Name: name, Role: role, Listen: "127.0.0.1:0", HTTP: "-", Token: []byte(token),
		Heartbeat: 200 * time.Millisecond, Services: []string{contract.EchoService}, Backends: b})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }() // joined at cleanup
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("node %s: %v", name, err)
		}
	})
	select {
	case <-n.Started():
	case err := <-done:
		t.Fatalf("node %s: %v", name, err)
	case <-time.After(10 * time.Second):
		t.Fatalf("node %s did not start", name)
	}
}
