package chaos

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/test/chaos/proxy"
)

// Ports inside every namespace; each namespace has its own address.
const (
	clusterPort = 4000
	httpPort    = 8080
	proxyBase   = 41000 // the proxy of namespace i listens on bridge:proxyBase+i
)

// Node is one chaosnode process slot: a name in a namespace, behind a proxy.
// The process in it may be replaced (restarts).
type Node struct {
	Name  string
	Role  string
	Index int    // namespace lchaos-<Index>
	IP    string // eth0 address inside the namespace
	Proxy *proxy.Proxy

	h *Harness

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current process exited
	exitErr error
	starts  int
}

// nsName is the namespace of node index i.
func nsName(i int) string { return fmt.Sprintf("lchaos-%d", i) }

// HTTPURL is the node's HTTP base URL, reached over the bridge.
func (n *Node) HTTPURL() string { return fmt.Sprintf("http://%s:%d", n.IP, httpPort) }

// Start starts a new process for the node (the previous one must have exited).
// nameOverride, if set, runs it under another node's name (duplicate fault).
func (n *Node) Start(nameOverride string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done != nil {
		select {
		case <-n.done:
		default:
			return fmt.Errorf("starting %s: the previous process still runs", n.Name)
		}
	}
	name := n.Name
	if nameOverride != "" {
		name = nameOverride
	}
	h := n.h
	args := []string{"netns", "exec", nsName(n.Index), h.bin,
		"--role", n.Role, "--name", name,
		"--listen", fmt.Sprintf("%s:%d", n.IP, clusterPort), "--advertise", n.Proxy.Addr(),
		"--http", fmt.Sprintf("%s:%d", n.IP, httpPort),
		"--token-file", h.tokenFile, "--record-dir", h.recordDir,
		"--heartbeat-interval", h.cfg.Heartbeat.String(), "--call-timeout", h.cfg.Deadline.String()}
	if n.Role == contract.RoleSlave {
		args = append(args, "--master", h.master.Proxy.Addr())
	}
	logf, err := os.OpenFile(filepath.Join(h.work, "logs", n.Name+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening %s's log: %w", n.Name, err)
	}
	n.starts++
	_, _ = fmt.Fprintf(logf, "=== start %d as %s at %s\n", n.starts, name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command("ip", args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return fmt.Errorf("starting %s: %w", n.Name, err)
	}
	done := make(chan struct{})
	n.cmd, n.done, n.exitErr = cmd, done, nil
	h.wg.Go(func() {
		err := cmd.Wait()
		_ = logf.Close()
		n.mu.Lock()
		n.exitErr = err
		n.mu.Unlock()
		close(done)
	})
	return nil
}

// Signal sends sig to the running process; a no-op when none runs.
func (n *Node) Signal(sig syscall.Signal) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.done:
	default:
		_ = n.cmd.Process.Signal(sig)
	}
}

// Running reports whether a process runs in the slot.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Wait waits for the current process to exit (or ctx) and returns its exit
// code (-1 when killed by a signal, -2 on ctx).
func (n *Node) Wait(ctx context.Context) int {
	n.mu.Lock()
	done, cmd := n.done, n.cmd
	n.mu.Unlock()
	if done == nil {
		return 0
	}
	select {
	case <-done:
	case <-ctx.Done():
		return -2
	}
	return cmd.ProcessState.ExitCode()
}

// Stop ends the process: SIGCONT (in case it is stopped), SIGTERM, SIGKILL
// after grace.
func (n *Node) Stop(grace time.Duration) {
	n.Signal(syscall.SIGCONT)
	n.Signal(syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if n.Wait(ctx) == -2 {
		n.Signal(syscall.SIGKILL)
		n.Wait(context.Background())
	}
}

// WaitReady polls /readyz until it answers 200 or ctx ends.
func (n *Node) WaitReady(ctx context.Context) error {
	for {
		code, _, err := httpGet(ctx, n.HTTPURL()+contract.PathReadyz)
		if err == nil && code == http.StatusOK {
			return nil
		}
		if !n.Running() {
			return fmt.Errorf("%s exited before it was ready", n.Name)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last: %d %v)", n.Name, ctx.Err(), code, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// View reads the node's /cluster.
func (n *Node) View(ctx context.Context) (contract.ClusterView, error) {
	var v contract.ClusterView
	code, body, err := httpGet(ctx, n.HTTPURL()+contract.PathCluster)
	if err != nil {
		return v, err
	}
	if code != http.StatusOK {
		return v, fmt.Errorf("%s /cluster: %d", n.Name, code)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return v, fmt.Errorf("%s /cluster: %w", n.Name, err)
	}
	return v, nil
}

// Resources is what the harness compares against the baseline.
type Resources struct {
	Goroutines int
	RSS        int64
}

// Resources reads go_goroutines and process_resident_memory_bytes from
// /metrics.
func (n *Node) Resources(ctx context.Context) (Resources, error) {
	var r Resources
	code, body, err := httpGet(ctx, n.HTTPURL()+contract.PathMetrics)
	if err != nil {
		return r, err
	}
	if code != http.StatusOK {
		return r, fmt.Errorf("%s /metrics: %d", n.Name, code)
	}
	var seen int
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "go_goroutines":
			r.Goroutines, seen = int(v), seen+1
		case "process_resident_memory_bytes":
			r.RSS, seen = int64(v), seen+1
		}
	}
	if seen != 2 {
		return r, fmt.Errorf("%s /metrics: go_goroutines or process_resident_memory_bytes missing", n.Name)
	}
	return r, nil
}

var httpClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

func httpGet(ctx context.Context, url string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("reading %s: %w", url, err)
	}
	return resp.StatusCode, b, nil
}

// script runs hack/chaos.sh with args.
func (h *Harness) script(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, h.scriptPath, args...)
	cmd.Env = append(os.Environ(), "CHAOS_NET="+h.cfg.Net)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("hack/chaos.sh %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}
