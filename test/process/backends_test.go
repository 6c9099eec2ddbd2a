package process

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/etcd/etcdtest"
	"github.com/lotou-io/lotou/runtime/nats/natstest"
)

var natsPublished = regexp.MustCompile(`(?m)^lotou_nats_published_total (\S+)$`)

// published reads lotou_nats_published_total of a node (-1 if absent).
func published(t *testing.T, p *proc) float64 {
	t.Helper()
	_, body := httpGet(p.http, contract.PathMetrics)
	m := natsPublished.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	return f
}

// TestBackendProcesses runs lotou-node processes with --discovery and
// --transport over a real etcd (a child process) and NATS server (in this
// test process), every combination but the default master+tcp (TestCluster).
func TestBackendProcesses(t *testing.T) {
	e := newEnv(t)
	nsrv := natstest.Start(t, "")
	var etcdURL string
	if etcdtest.Binary() != "" {
		etcdURL = etcdtest.Start(t).Endpoint()
	}
	for _, c := range []struct {
		name                 string
		discovery, transport string
	}{
		{"etcd+tcp", contract.DiscoveryEtcd, contract.TransportTCP},
		{"master+nats", contract.DiscoveryMaster, contract.TransportNATS},
		{"etcd+nats", contract.DiscoveryEtcd, contract.TransportNATS},
	} {
		t.Run(c.name, func(t *testing.T) {
			flags := []string{"--discovery", c.discovery, "--transport", c.transport}
			if c.discovery == contract.DiscoveryEtcd {
				if etcdURL == "" {
					t.Skip("no etcd binary: run hack/setup-envtest.sh etcd, or set LOTOU_ETCD_BIN")
				}
				flags = append(flags, "--etcd-endpoints", etcdURL)
			}
			if c.transport == contract.TransportNATS {
				flags = append(flags, "--nats-url", nsrv.URL())
			}
			// A token per cluster: the etcd prefix and NATS subjects derive
			// from it, so the subtests do not see each other.
			tok := t.TempDir() + "/token"
			if err := os.WriteFile(tok, []byte("backends-"+c.name), 0o600); err != nil {
				t.Fatal(err)
			}
			master := ""
			m := e.node(contract.RoleMaster, c.name+"-m", "", tok, flags...)
			if c.discovery == contract.DiscoveryMaster {
				master = m.addr
			}
			a := e.node(contract.RoleSlave, c.name+"-a", master, tok, flags...)
			b := e.node(contract.RoleSlave, c.name+"-b", master, tok, flags...)
			procs := []*proc{m, a, b}
			all := func(v contract.ClusterView, n int) bool {
				up, g := upNames(v), globals(v)
				ok := len(up) == n
				for _, p := range procs[:n] {
					ok = ok && up[p.name] && g[contract.EchoName(p.name)]
				}
				return ok
			}
			for _, p := range procs {
				eventually(t, p.name+" ready and sees 3 nodes", 15*time.Second, func() bool {
					c, _ := httpGet(p.http, contract.PathReadyz)
					return c == 200 && all(view(p), 3)
				})
			}
			// lotouctl finds the cluster as the nodes do: through the master or etcd.
			ctl := []string{"--master", m.addr}
			if c.discovery == contract.DiscoveryEtcd {
				ctl = []string{"--discovery", contract.DiscoveryEtcd, "--etcd-endpoints", etcdURL}
			}
			before := published(t, b)
			out, errOut, err := ctlToken(e, tok, append(ctl, "call", "echo:"+a.name, "relay", `"echo:`+b.name+`"`, `"echo"`, "42")...)
			if err != nil || strings.TrimSpace(out) != "[42]" {
				t.Fatalf("relay a→b: %q %v %s", out, err, errOut)
			}
			if after := published(t, b); c.transport == contract.TransportNATS && after <= before {
				t.Fatalf("b published %v → %v NATS messages: its reply did not go over NATS", before, after)
			}
			// kill -9: the others drop b (lease expiry or missed heartbeats).
			b.kill()
			took := eventually(t, "m and a drop the killed b", 10*time.Second, func() bool {
				return all(view(m), 2) && all(view(a), 2)
			})
			t.Logf("killed node dropped after %v", took)
			// SIGTERM: graceful leave, seen at once.
			termAndWait(t, a)
			took = eventually(t, "m drops a after its leave", 2*time.Second, func() bool {
				_, up := upNames(view(m))[a.name]
				return !up && !globals(view(m))["echo:"+a.name]
			})
			t.Logf("leave seen after %v", took)
			if a.waitErr != nil {
				t.Fatalf("a exited with %v", a.waitErr)
			}
			termAndWait(t, m)
		})
	}
}

// ctlToken runs lotouctl with another cluster's token file.
func ctlToken(e *env, token string, args ...string) (string, string, error) {
	cmd := exec.Command(filepath.Join(e.bin, "lotouctl"), append([]string{"--token-file", token}, args...)...)
	cmd.Env = []string{}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// termAndWait stops a node with SIGTERM (graceful leave) and waits for it.
func termAndWait(t *testing.T, p *proc) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.kill()
		t.Fatalf("%s did not exit on SIGTERM", p.name)
	}
}
