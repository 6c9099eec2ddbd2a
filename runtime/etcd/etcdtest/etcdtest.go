// Package etcdtest runs a real single-member etcd server for tests and
// benchmarks: the etcd binary (go.etcd.io/etcd/server/v3, built by
// hack/setup-envtest.sh into bin/k8s) as a child process on random loopback
// ports, with a data directory that survives Stop so Start brings the same
// server back (an outage). It embeds no etcd server code: the server module
// fights the Kubernetes libraries' versions in go.mod.
package etcdtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lotou-io/lotou/test/freeport"
)

// Binary finds the etcd binary: $LOTOU_ETCD_BIN, $KUBEBUILDER_ASSETS/etcd,
// bin/k8s/etcd of the enclosing module, or etcd on $PATH. It returns "" if
// none exists.
func Binary() string {
	var cands []string
	if p := os.Getenv("LOTOU_ETCD_BIN"); p != "" {
		cands = append(cands, p)
	}
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		cands = append(cands, filepath.Join(d, "etcd"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				cands = append(cands, filepath.Join(d, "bin", "k8s", "etcd"), filepath.Join(d, "..", "bin", "k8s", "etcd"))
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if p, err := exec.LookPath("etcd"); err == nil {
		cands = append(cands, p)
	}
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && !st.IsDir() { //nolint:gosec // G703: candidate paths for a test binary
			return c
		}
	}
	return ""
}

// Server is one etcd process.
type Server struct {
	tb           testing.TB
	bin, dir     string
	client, peer string
	mu           sync.Mutex
	cmd          *exec.Cmd
	exited       chan struct{}
}

// Start runs etcd and waits until it serves; the test is skipped if no
// binary is found, and the server is stopped at cleanup.
func Start(tb testing.TB) *Server {
	tb.Helper()
	bin := Binary()
	if bin == "" {
		tb.Skip("no etcd binary: run hack/setup-envtest.sh etcd, or set LOTOU_ETCD_BIN or KUBEBUILDER_ASSETS")
	}
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(),
		client: "http://" + freeport.Addr(tb), peer: "http://" + freeport.Addr(tb)}
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Endpoint is the client URL.
func (s *Server) Endpoint() string { return s.client }

// Start (re)starts the server on the same ports and data and waits until it
// is healthy.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	cmd := exec.Command(s.bin,
		"--name", "default", "--data-dir", s.dir,
		"--listen-client-urls", s.client, "--advertise-client-urls", s.client,
		"--listen-peer-urls", s.peer, "--initial-advertise-peer-urls", s.peer,
		"--initial-cluster", "default="+s.peer, "--log-level", "error",
		"--heartbeat-interval", "50", "--election-timeout", "500")
	cmd.Stdout, cmd.Stderr = nil, nil
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting etcd: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // joined by Stop
	s.cmd, s.exited = cmd, exited
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.client+"/health", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			s.cmd = nil
			return errors.New("etcd exited while starting")
		default:
		}
		if time.Now().After(deadline) {
			return errors.New("etcd did not become healthy within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL: an outage, not a shutdown) and waits for
// it to exit. It is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL)
	<-s.exited
	s.cmd = nil
}
