package process

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
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
	"github.com/lotou-io/lotou/test/freeport"
	"github.com/lotou-io/lotou/test/nodebin"
)

const hb = 100 * time.Millisecond

// bins are lotou-node and lotouctl, built once for the whole suite.
var bins = nodebin.New(nodebin.LotouNode, nodebin.Lotouctl)

func TestMain(m *testing.M) {
	code := m.Run()
	bins.Remove()
	os.Exit(code)
}

// proc is a running lotou-node.
type proc struct {
	name, addr, http string
	args             []string
	cmd              *exec.Cmd
	log              *nodebin.Output
	done             chan struct{}
	waitErr          error // valid once done is closed
}

type env struct {
	t     *testing.T
	bin   string
	token string
	procs []*proc
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("real-process test")
	}
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	if err := os.WriteFile(tok, []byte("process-test-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, bin: bins.Dir(t), token: tok}
	t.Cleanup(e.stopAll)
	return e
}

func (e *env) node(role, name, master, token string, extra ...string) *proc {
	e.t.Helper()
	p := &proc{name: name, addr: freeport.Addr(e.t), http: freeport.Addr(e.t)}
	p.args = []string{"--role", role, "--name", name, "--listen", p.addr, "--http", p.http,
		"--token-file", token, "--services", "echo", "--heartbeat-interval", hb.String()}
	if master != "" {
		p.args = append(p.args, "--master", master)
	}
	p.args = append(p.args, extra...)
	e.start(p)
	return p
}

func (e *env) start(p *proc) {
	e.t.Helper()
	p.log = &nodebin.Output{}
	p.cmd = exec.Command(filepath.Join(e.bin, "lotou-node"), p.args...)
	p.cmd.Stderr = p.log
	p.cmd.Env = []string{} // only flags
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	p.done = make(chan struct{})
	go func() { p.waitErr = p.cmd.Wait(); close(p.done) }()
	e.procs = append(e.procs, p)
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (e *env) stopAll() {
	for _, p := range e.procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range e.procs {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.kill()
		}
	}
	if e.t.Failed() {
		for _, p := range e.procs {
			e.t.Logf("--- log of %s:\n%s", p.name, p.log.String())
		}
	}
}

func (e *env) ctl(args ...string) (string, string, error) {
	cmd := exec.Command(filepath.Join(e.bin, "lotouctl"), append([]string{"--token-file", e.token}, args...)...)
	cmd.Env = []string{}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func httpGet(addr, path string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func view(p *proc) contract.ClusterView {
	var v contract.ClusterView
	_, body := httpGet(p.http, contract.PathCluster)
	_ = json.Unmarshal([]byte(body), &v)
	return v
}

func upNames(v contract.ClusterView) map[string]bool {
	out := map[string]bool{}
	for _, n := range v.Nodes {
		if n.Up {
			out[n.Name] = true
		}
	}
	return out
}

func nodeIDs(v contract.ClusterView) map[string]uint16 {
	out := map[string]uint16{}
	for _, n := range v.Nodes {
		out[n.Name] = n.ID
	}
	return out
}

func globals(v contract.ClusterView) map[string]bool {
	out := map[string]bool{}
	for _, g := range v.Globals {
		out[g.Name] = true
	}
	return out
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

var dataLine = regexp.MustCompile(`(?m)^lotou_messages_total\{[^}]*\} (\S+)$`)

// dataMessages sums lotou_messages_total of a node: every remote message it
// sent or received (control traffic such as heartbeats is not counted).
func dataMessages(t *testing.T, p *proc) float64 {
	t.Helper()
	code, body := httpGet(p.http, contract.PathMetrics)
	if code != 200 {
		t.Fatalf("metrics of %s: %d %s", p.name, code, body)
	}
	sum := 0.0
	for _, m := range dataLine.FindAllStringSubmatch(body, -1) {
		f, _ := strconv.ParseFloat(m[1], 64)
		sum += f
	}
	return sum
}

func TestCluster(t *testing.T) {
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", e.token)
	eventually(t, "master ready", 10*time.Second, func() bool { c, _ := httpGet(m.http, contract.PathReadyz); return c == 200 })
	a := e.node(contract.RoleSlave, "a", m.addr, e.token)
	b := e.node(contract.RoleSlave, "b", m.addr, e.token)
	for _, p := range []*proc{a, b} {
		eventually(t, p.name+" ready", 10*time.Second, func() bool { c, _ := httpGet(p.http, contract.PathReadyz); return c == 200 })
	}
	all := func(v contract.ClusterView) bool {
		up, g := upNames(v), globals(v)
		return len(up) == 3 && g["echo:m"] && g["echo:a"] && g["echo:b"]
	}
	eventually(t, "3 nodes everywhere", 5*time.Second, func() bool { return all(view(m)) && all(view(a)) && all(view(b)) })

	t.Run("status shows three nodes", func(t *testing.T) {
		out, errOut, err := e.ctl("--master", m.addr, "status", "-o", "json")
		if err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		var v contract.ClusterView
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if len(v.Nodes) != 3 || !all(v) {
			t.Fatalf("status: %s", out)
		}
		table, _, err := e.ctl("--master", m.addr, "status")
		if err != nil || !strings.Contains(table, "echo:b") || strings.Count(table, " up") != 3 {
			t.Fatalf("table (%v):\n%s", err, table)
		}
	})

	t.Run("slave to slave goes direct", func(t *testing.T) {
		before := dataMessages(t, m)
		bBefore := dataMessages(t, b)
		out, errOut, err := e.ctl("--master", m.addr, "call", "echo:a", "relay", `"echo:b"`, `"echo"`, "42", `"x"`)
		if err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		if strings.TrimSpace(out) != `[42,"x"]` {
			t.Fatalf("reply %q", out)
		}
		if after := dataMessages(t, m); after != before {
			t.Fatalf("master carried data: %v → %v messages", before, after)
		}
		if dataMessages(t, b) < bBefore+2 { // the call in, the reply out
			t.Fatal("b saw no call")
		}
	})

	t.Run("master restart", func(t *testing.T) {
		before := nodeIDs(view(m))
		m.kill()
		eventually(t, "slaves notice", 5*time.Second, func() bool { c, _ := httpGet(a.http, contract.PathReadyz); return c != 200 })
		e.start(m)
		// A client joining at once races the slaves' re-registration: it
		// must not take one of their ids.
		eventually(t, "restarted master answers lotouctl", 5*time.Second, func() bool {
			_, _, err := e.ctl("--master", m.addr, "--timeout", "1s", "status")
			return err == nil
		})
		took := eventually(t, "every slave and name back", 5*time.Second, func() bool {
			return all(view(m)) && all(view(a)) && all(view(b))
		})
		t.Logf("cluster whole again %v after the master restarted", took)
		if after := nodeIDs(view(m)); after["a"] != before["a"] || after["b"] != before["b"] {
			t.Fatalf("slave ids changed across the master restart: %v → %v", before, after)
		}
		for _, p := range []*proc{a, b} {
			select {
			case <-p.done:
				t.Fatalf("%s exited: %v", p.name, p.waitErr)
			default:
			}
		}
	})

	t.Run("killed slave is down quickly", func(t *testing.T) {
		b.kill()
		start := time.Now()
		down := func(v contract.ClusterView) bool { return !upNames(v)["b"] && !globals(v)["echo:b"] }
		eventually(t, "b down", 3*hb+500*time.Millisecond, func() bool { return down(view(m)) && down(view(a)) })
		t.Logf("b seen down after %v (heartbeat %v)", time.Since(start), hb)
		if d := time.Since(start); d > 3*hb {
			t.Errorf("down after %v, want within 3 heartbeats (%v)", d, 3*hb)
		}
		callStart := time.Now()
		_, errOut, err := e.ctl("--master", m.addr, "call", "echo:b", "echo", "1")
		took := time.Since(callStart)
		if err == nil {
			t.Fatal("call to a dead node succeeded")
		}
		if !strings.Contains(errOut, "not registered in the cluster") {
			t.Fatalf("unclear error: %s", errOut)
		}
		if took > time.Second {
			t.Fatalf("failing call took %v", took)
		}
		t.Logf("call to dead b failed in %v: %s", took, strings.TrimSpace(errOut))
	})

	t.Run("SIGTERM leaves gracefully", func(t *testing.T) {
		if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		gone := func(v contract.ClusterView) bool { return !upNames(v)["a"] && !globals(v)["echo:a"] }
		eventually(t, "master forgets a", 3*hb, func() bool { return gone(view(m)) })
		t.Logf("master forgot a %v after SIGTERM", time.Since(start))
		select {
		case <-a.done:
		case <-time.After(5 * time.Second):
			t.Fatal("a did not exit")
		}
		if a.waitErr != nil {
			t.Fatalf("a exited with %v", a.waitErr)
		}
		if !strings.Contains(a.log.String(), "Leaving") {
			t.Fatal("no leave in a's log")
		}
	})

	t.Run("wrong token refused", func(t *testing.T) {
		dir := t.TempDir()
		bad := filepath.Join(dir, "bad")
		if err := os.WriteFile(bad, []byte("wrong"), 0o600); err != nil {
			t.Fatal(err)
		}
		x := e.node(contract.RoleSlave, "intruder", m.addr, bad)
		eventually(t, "rejection in master log", 5*time.Second, func() bool {
			return logLine(m, "Rejected peer", "failed token proof") != ""
		})
		if line := logLine(m, "Rejected peer", "failed token proof"); !strings.Contains(line, "127.0.0.1:") {
			t.Fatalf("rejection logged without the peer address: %s", line)
		}
		if c, _ := httpGet(x.http, contract.PathReadyz); c == 200 {
			t.Fatal("intruder ready")
		}
		if upNames(view(m))["intruder"] {
			t.Fatal("intruder joined")
		}
	})
}

// logLine returns the first line of p's log holding every part, or "".
func logLine(p *proc, parts ...string) string {
	for line := range strings.Lines(p.log.String()) {
		ok := true
		for _, part := range parts {
			ok = ok && strings.Contains(line, part)
		}
		if ok {
			return line
		}
	}
	return ""
}

func TestBadFlagsExit2(t *testing.T) {
	e := newEnv(t)
	for _, args := range [][]string{{"--role", "boss", "--name", "x"}, {"--nope"}, {"--role", "slave", "--name", "x"}} {
		cmd := exec.Command(filepath.Join(e.bin, "lotou-node"), args...)
		cmd.Env = []string{}
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || len(out) == 0 {
			t.Fatalf("%v: err=%v out=%s", args, err, out)
		}
	}
}
