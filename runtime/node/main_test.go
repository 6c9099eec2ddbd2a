package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/gate/client"
	"github.com/lotou-io/lotou/test/freeport"
	"github.com/lotou-io/lotou/test/nodebin"
)

// waitLog waits for a log line matching re and returns its first group.
func waitLog(t *testing.T, out *nodebin.Output, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := rx.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line %q in:\n%s", re, out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestMainGateDrain runs a node with a gate the way a game's main does,
// stops it the way SIGTERM does, and checks the drain: the client gets the
// move notice, and the node leaves only after the client has gone.
func TestMainGateDrain(t *testing.T) {
	var out nodebin.Output
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- MainArgs(ctx, []string{"--name", "solo", "--http", "127.0.0.1:0", "--gate", "127.0.0.1:0",
			"--gate-auth", "name", "--drain-timeout", "10s"}, func(string) string { return "" }, &out, App{})
	}()
	gateAddr := waitLog(t, &out, `"Gate listening" addr="([^"]+)"`)
	httpAddr := waitLog(t, &out, `"Serving HTTP" addr="([^"]+)"`)
	waitLog(t, &out, `("Node running")`)

	moved := make(chan string, 1)
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	c, err := client.Dial(cctx, gateAddr, client.Options{Credentials: []byte("ann"), OnMove: func(r string) { moved <- r }})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if got, err := c.Call(cctx, "echo", []byte("hi")); err != nil || string(got) != "hi" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	if s := sessionsOf(t, httpAddr, "solo"); s != 1 {
		t.Fatalf("/cluster sessions %d, want 1", s)
	}
	metrics := httpGet(t, "http://"+httpAddr+contract.PathMetrics)
	if !strings.Contains(metrics, "lotou_gate_sessions 1") {
		t.Fatalf("/metrics lacks the gate's sessions:\n%s", metrics)
	}

	if code := httpStatus(t, "http://"+httpAddr+contract.PathReadyz); code != http.StatusOK {
		t.Fatalf("/readyz %d before the drain", code)
	}
	cancel() // SIGTERM
	select {
	case <-moved:
	case <-time.After(5 * time.Second):
		t.Fatal("no move notice")
	}
	if code := httpStatus(t, "http://"+httpAddr+contract.PathReadyz); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d while draining, want 503", code)
	}
	select {
	case code := <-done:
		t.Fatalf("the node stopped (exit %d) while a client was still connected", code)
	case <-time.After(200 * time.Millisecond):
	}
	_ = c.Close() // the client moves away
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d; log:\n%s", code, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the node did not stop after the drain")
	}
	log := out.String()
	if d, l := strings.Index(log, `"Gate drained"`), strings.Index(log, `"Leaving"`); d < 0 || l < d {
		t.Fatalf("want the drain before the leave; log:\n%s", log)
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

func sessionsOf(t *testing.T, httpAddr, name string) int {
	t.Helper()
	var v contract.ClusterView
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+httpAddr+contract.PathCluster)), &v); err != nil {
		t.Fatal(err)
	}
	for _, n := range v.Nodes {
		if n.Name == name {
			return n.Sessions
		}
	}
	panic(fmt.Sprintf("node %s not in /cluster", name))
}

// TestMainGateBadNode: a node that cannot start releases the gate's port.
func TestMainGateBadNode(t *testing.T) {
	var out nodebin.Output
	// A slave whose master never answers fails to join; a port taken by the
	// HTTP server makes New fail earlier. Use the bad HTTP address.
	gate := freeport.Addr(t)
	code := MainArgs(context.Background(), []string{"--name", "n", "--http", "256.0.0.1:1", "--gate", gate, "--gate-auth", "name"},
		func(string) string { return "" }, &out, App{})
	if code == 0 {
		t.Fatalf("exit 0 for a node that cannot serve HTTP; log:\n%s", out.String())
	}
	ln, err := net.Listen("tcp", gate)
	if err != nil {
		t.Fatalf("the gate's port %s is still held: %v", gate, err)
	}
	_ = ln.Close()
}
