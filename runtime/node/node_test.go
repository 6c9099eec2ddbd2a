package node

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lotou-io/lotou/runtime/contract"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"standalone defaults", Options{Name: "n"}, ""},
		{"no name", Options{}, "name is required"},
		{"bad role", Options{Name: "n", Role: "boss"}, "role"},
		{"slave without master", Options{Name: "n", Role: contract.RoleSlave, Token: []byte("t")}, "master address"},
		{"slave without token", Options{Name: "n", Role: contract.RoleSlave, Master: "m:4000"}, "token"},
		{"bad master", Options{Name: "n", Role: contract.RoleSlave, Master: "m", Token: []byte("t")}, "master address"},
		{"unknown service", Options{Name: "n", Services: []string{"nope"}}, "unknown service"},
		{"missing TLS key", Options{Name: "n", TLSCert: "c.pem"}, "TLS"},
		{"master ok", Options{Name: "n", Role: contract.RoleMaster, Token: []byte("t")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.opts.Listen != ":4000" || tt.opts.HTTP != ":8080" {
					t.Fatalf("defaults not applied: %+v", tt.opts)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

type running struct {
	t      *testing.T
	n      *Node
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// run starts a node on loopback with the echo service; each hook sees the
// node before Run starts.
func run(t *testing.T, o Options, hooks ...func(*Node)) *running {
	t.Helper()
	o.Listen, o.HTTP, o.Token, o.Heartbeat = "127.0.0.1:0", "127.0.0.1:0", []byte("tok"), 50*time.Millisecond
	o.Services = []string{contract.EchoService}
	n, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hooks {
		h(n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, n: n, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- n.Run(ctx) }()
	select {
	case <-n.Started():
	case <-time.After(5 * time.Second):
		t.Fatal("node did not start")
	}
	t.Cleanup(r.stop)
	return r
}

func (r *running) stop() {
	r.once.Do(func() {
		r.cancel()
		if err := <-r.done; err != nil {
			r.t.Errorf("Run: %v", err)
		}
	})
}

func get(t *testing.T, r *running, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + r.n.HTTPAddr().String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMasterAndSlave(t *testing.T) {
	m := run(t, Options{Name: "m", Role: contract.RoleMaster})
	s := run(t, Options{Name: "s", Role: contract.RoleSlave, Master: m.n.Addr()})
	for _, r := range []*running{m, s} {
		if code, _ := get(t, r, contract.PathHealthz); code != 200 {
			t.Fatalf("healthz %d", code)
		}
		if code, body := get(t, r, contract.PathReadyz); code != 200 {
			t.Fatalf("readyz %d %s", code, body)
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	var view contract.ClusterView
	for {
		_, body := get(t, m, contract.PathCluster)
		if err := json.Unmarshal([]byte(body), &view); err != nil {
			t.Fatal(err)
		}
		if len(view.Nodes) == 2 && len(view.Globals) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("view %+v", view)
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	k := s.n.Core()
	id, err := k.Lookup(ctx, contract.EchoName("m"))
	if err != nil {
		t.Fatal(err)
	}
	ret, err := k.Call(ctx, id, "echo", "hi", 42)
	if err != nil || len(ret) != 2 || ret[0] != "hi" || ret[1] != 42 {
		t.Fatalf("echo: %v %v", ret, err)
	}
	_, metrics := get(t, s, contract.PathMetrics)
	for _, want := range []string{`lotou_messages_total{direction="out",kind="call"} 1`, "lotou_call_latency_seconds_count 1",
		"lotou_connected_nodes", `lotou_mailbox_depth{service="echo:s"} 0`, "lotou_peer_frames_total", "lotou_peer_bytes_total"} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("metrics lack %q:\n%s", want, metrics)
		}
	}
	// Graceful leave: the master forgets the slave at once.
	s.stop()
	for {
		_, body := get(t, m, contract.PathCluster)
		_ = json.Unmarshal([]byte(body), &view)
		if len(view.Globals) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("view after leave %+v", view)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStandalone(t *testing.T) {
	r := run(t, Options{Name: "solo"})
	if code, _ := get(t, r, contract.PathReadyz); code != 200 {
		t.Fatal("standalone not ready")
	}
	_, body := get(t, r, contract.PathCluster)
	if !strings.Contains(body, `"echo:solo"`) {
		t.Fatalf("view %s", body)
	}
}
