package browser

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/test/freeport"
)

// syncBuf collects a process's output.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// node is one running chat process.
type node struct {
	name, addr, http, gate string
	cmd                    *exec.Cmd
	out                    *syncBuf
	done                   chan error
}

// chatCluster is a master and slaves of the chat example on loopback.
type chatCluster struct {
	master *node
	slaves []*node
}

// buildChat compiles examples/chat into a temporary directory.
func buildChat(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chat")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/lotou-io/lotou/examples/chat").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startCluster starts a master and n slaves with gates, and waits until
// every node is ready.
func startCluster(t *testing.T, slaves int) *chatCluster {
	t.Helper()
	bin := buildChat(t)
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
	n := &node{name: name, addr: freeport.Addr(t), http: freeport.Addr(t), out: &syncBuf{}, done: make(chan error, 1)}
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
