package browser

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/test/freeport"
	"github.com/lotou-io/lotou/test/nodebin"
)

// chatBin is the chat example's binary, built once for the whole suite.
var chatBin = nodebin.New("github.com/lotou-io/lotou/examples/chat")

func TestMain(m *testing.M) {
	code := m.Run()
	chatBin.Remove()
	os.Exit(code)
}

// node is one running chat process.
type node struct {
	name, addr, http, gate string
	cmd                    *exec.Cmd
	out                    *nodebin.Output
	done                   chan error
}

// chatCluster is a master and slaves of the chat example on loopback.
type chatCluster struct {
	master *node
	slaves []*node
}

// startCluster starts a master and n slaves with gates, and waits until
// every node is ready.
func startCluster(t *testing.T, slaves int) *chatCluster {
	t.Helper()
	bin := chatBin.Dir(t) + "/chat"
	c := &chatCluster{}
	c.master = startNode(t, bin, "master", contract.RoleMaster, "")
	for i := range slaves {
		c.slaves = append(c.slaves, startNode(t, bin, fmt.Sprintf("slave-%d", i), contract.RoleSlave, c.master.addr))
	}
	for _, n := range append([]*node{c.master}, c.slaves...) {
		waitReady(t, n)
	}
	return c
}

func startNode(t *testing.T, bin, name, role, master string) *node {
	t.Helper()
	n := &node{name: name, addr: freeport.Addr(t), http: freeport.Addr(t), out: &nodebin.Output{}, done: make(chan error, 1)}
	args := []string{"--role", role, "--name", name, "--listen", n.addr, "--http", n.http,
		"--heartbeat-interval", "200ms", "--drain-timeout", "3s"}
	if role == contract.RoleSlave {
		n.gate = freeport.Addr(t)
		args = append(args, "--master", master, "--gate", n.gate)
	}
	n.cmd = exec.Command(bin, args...)
	n.cmd.Env = append(os.Environ(), contract.EnvClusterToken+"=browser-test-token")
	n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { n.done <- n.cmd.Wait() }()
	t.Cleanup(func() { stop(t, n) })
	return n
}

// stop sends SIGTERM (a drain, then a graceful leave) and waits.
func stop(t *testing.T, n *node) {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-n.done:
		if err != nil {
			t.Errorf("%s exited with %v; log:\n%s", n.name, err, n.out.String())
		}
	case <-time.After(15 * time.Second):
		_ = n.cmd.Process.Kill()
		if err := <-n.done; err != nil {
			t.Logf("%s killed: %v", n.name, err)
		}
		t.Errorf("%s did not stop on SIGTERM; log:\n%s", n.name, n.out.String())
	}
}

func waitReady(t *testing.T, n *node) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + n.http + contract.PathReadyz)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready; log:\n%s", n.name, n.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eventually polls cond until it holds or 10s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
