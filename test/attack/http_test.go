package attack

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// TestHTTPPort: the HTTP port is open to anyone who can reach it (it is
// read-only, see docs/security.md). What it must not give: debug
// endpoints, unbounded headers, or — by holding connections — every file
// descriptor of the process, which would cut the cluster port off too and
// fail the node's own liveness probe.
func TestHTTPPort(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", 0)
	eventually(t, "master ready", 10*time.Second, func() bool { return ready(m) })
	c := e.node(contract.RoleSlave, "c", m.addr, 256) // 256 file descriptors
	eventually(t, "c ready", 10*time.Second, func() bool { return ready(c) })

	t.Run("no debug endpoints", func(t *testing.T) {
		for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=2", "/debug/vars", "/debug/pprof/cmdline"} {
			if code, body := freshGet(c.http, path); code != 404 {
				t.Errorf("GET %s: %d %.80q", path, code, body)
			}
		}
	})

	t.Run("header above 16 KiB refused", func(t *testing.T) {
		nc, err := dialFrom("127.0.6.1", c.http)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		req := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 64<<10) + "\r\n\r\n"
		_, _ = nc.Write([]byte(req))
		_ = nc.SetReadDeadline(time.Now().Add(3 * time.Second))
		b := make([]byte, 64)
		n, _ := nc.Read(b)
		if !strings.Contains(string(b[:n]), " 431 ") {
			t.Fatalf("answer %q, want 431", b[:n])
		}
	})

	t.Run("held connections do not take every file descriptor", func(t *testing.T) {
		var conns []net.Conn
		defer func() {
			for _, nc := range conns {
				_ = nc.Close()
			}
		}()
		for i := range 400 { // more than c's 256 file descriptors
			nc, err := dialFrom(fmt.Sprintf("127.0.6.%d", 10+i/50), c.http)
			if err != nil {
				t.Fatal(err)
			}
			if i%2 == 0 {
				_, _ = nc.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")) // then kept alive
			} else {
				_, _ = nc.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")) // never finished
			}
			conns = append(conns, nc)
		}
		time.Sleep(300 * time.Millisecond) // let c accept them all
		// Probes on fresh connections, as the kubelet's, are answered.
		for range 3 {
			if code, body := freshGet(c.http, contract.PathHealthz); code != 200 {
				t.Fatalf("liveness probe during the flood: %d %s", code, body)
			}
		}
		if code, body := freshGet(c.http, contract.PathReadyz); code != 200 {
			t.Fatalf("c not ready during the flood: %d %s", code, body)
		}
		// c's cluster port still accepts: lotouctl calls echo:c directly.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, filepath.Join(e.bin, "lotouctl"), "--token-file", e.tokenFile, "--master", m.addr,
			"--timeout", "3s", "call", contract.EchoName("c"), "echo", "9").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "[9]" {
			t.Fatalf("lotouctl through c during the flood: %v: %s", err, out)
		}
	})
	select {
	case <-c.done:
		t.Fatal("c exited")
	default:
	}
}

// freshGet is httpGet on a new connection, as the kubelet probes: a
// pooled keep-alive connection would not need the node to accept.
func freshGet(addr, path string) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
