package attack

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// TestAttacks runs every attack against one cluster (master m, slaves a and
// b, and slave c started with only 64 file descriptors) while an in-process
// client calls the echo service of every node in a loop.
func TestAttacks(t *testing.T) {
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", 0)
	eventually(t, "master ready", 10*time.Second, func() bool { return ready(m) })
	a := e.node(contract.RoleSlave, "a", m.addr, 0)
	b := e.node(contract.RoleSlave, "b", m.addr, 0)
	c := e.node(contract.RoleSlave, "c", m.addr, 64)
	for _, p := range []*proc{a, b, c} {
		eventually(t, p.name+" ready", 10*time.Second, func() bool { return ready(p) })
	}
	calls := newCaller(t, m.addr, "m", "a", "b", "c")
	eventually(t, "calls answered", 10*time.Second, func() bool { return calls.ok.Load() >= 8 })
	calls.bad.Store(0) // lookups may race the first registrations

	// Quick attacks, one after the other so each log sample is theirs.
	t.Run("wrong token", func(t *testing.T) { wrongToken(t, e, a) })
	t.Run("replayed and echoed handshakes", func(t *testing.T) { replay(t, e, a) })
	t.Run("codec: tiny frames declaring huge arrays", func(t *testing.T) { hugeArrays(t, calls, a) })
	t.Run("codec: distinct array lengths", func(t *testing.T) { distinctArrays(t, calls, b) })

	// Slow attacks (they wait for the node's timeouts) run side by side.
	t.Run("slow", func(t *testing.T) {
		t.Run("reflection between two connections", func(t *testing.T) { t.Parallel(); reflection(t, a, b) })
		t.Run("unauthenticated holders", func(t *testing.T) { t.Parallel(); unauthHolders(t, b) })
		t.Run("authenticated idle and partial-frame holders", func(t *testing.T) { t.Parallel(); authHolders(t, b) })
		t.Run("HTTP keep-alive flood", func(t *testing.T) { t.Parallel(); httpFlood(t, m) })
		t.Run("file descriptor exhaustion", func(t *testing.T) { t.Parallel(); exhaustFDs(t, e, c) })
	})

	// After everything: every node alive, ready, within its memory bound,
	// and no call failed during the attacks.
	for _, p := range []*proc{m, a, b, c} {
		select {
		case <-p.done:
			t.Fatalf("%s exited during the attacks", p.name)
		default:
		}
		eventually(t, p.name+" ready after the attacks", 10*time.Second, func() bool { return ready(p) })
		if r := p.maxRSS.Load(); r > rssBound {
			t.Errorf("%s peaked at %d MiB RSS, bound %d MiB", p.name, r>>20, rssBound>>20)
		} else {
			t.Logf("%s peak RSS %d MiB (bound %d MiB)", p.name, r>>20, rssBound>>20)
		}
	}
	before := calls.ok.Load()
	eventually(t, "calls after the attacks", 5*time.Second, func() bool { return calls.ok.Load() >= before+8 })
	if bad := calls.bad.Load(); bad != 0 {
		t.Errorf("%d calls failed during the attacks (last: %v); %d succeeded", bad, calls.lastErr.Load(), calls.ok.Load())
	}
	t.Logf("%d calls answered during and after the attacks", calls.ok.Load())
}

func wrongToken(t *testing.T, e *env, a *proc) {
	nc, err := dialFrom("127.0.0.2", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := noiseDial(nc, "not-the-token", "intruder"); err == nil || !strings.Contains(err.Error(), "authentication failed") {
		t.Fatalf("handshake with a wrong token: %v", err)
	}
	eventually(t, "rejection logged with the peer address", 5*time.Second, func() bool {
		return strings.Contains(a.log.String(), "Rejected peer") && strings.Contains(a.log.String(), nc.LocalAddr().String())
	})
	if r := rejections(t, a); r["auth"] < 1 {
		t.Fatalf("rejections = %v", r)
	}
	// lotouctl with a wrong token cannot join either.
	bad := filepath.Join(t.TempDir(), "bad")
	if err := os.WriteFile(bad, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(filepath.Join(e.bin, "lotouctl"), "--token-file", bad, "--master", a.addr, "--timeout", "1s", "status").CombinedOutput()
	if err == nil {
		t.Fatalf("lotouctl joined with a wrong token: %s", out)
	}
}

// replay records a real dialler's first message (lotouctl dialling a fake
// master), answers it with its own ephemeral key (a nonce echo), then
// replays it to node a.
func replay(t *testing.T, e *env, a *proc) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	captured := make(chan []byte, 1)
	var wg sync.WaitGroup
	defer func() { _ = ln.Close(); wg.Wait() }()
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			msg1, err := readFrame(nc)
			if err == nil && len(msg1) == len(initHeader)+48 {
				select {
				case captured <- msg1:
				default:
				}
				// Nonce echo: hand the dialler its own ephemeral key back.
				_ = writeFrame(nc, append([]byte{0x02}, msg1[len(initHeader):]...))
			}
			_ = nc.SetReadDeadline(time.Now().Add(time.Second))
			_, _ = readFrame(nc)
			_ = nc.Close()
		}
	})
	out, err := exec.Command(filepath.Join(e.bin, "lotouctl"), "--token-file", e.tokenFile, "--master", ln.Addr().String(),
		"--timeout", "1s", "--log-level", "info", "status").CombinedOutput()
	if err == nil {
		t.Fatalf("lotouctl accepted a listener that echoed its ephemeral key: %s", out)
	}
	if !strings.Contains(string(out), "reflected") || !strings.Contains(string(out), ln.Addr().String()) {
		t.Fatalf("lotouctl did not report the echoed key with the listener's address: %s", out)
	}
	msg1 := <-captured

	before := rejections(t, a)
	// First replay: the message proves the token, so a answers with its
	// ephemeral key and nothing else, then cannot get a live identity.
	nc, err := dialFrom("127.0.0.2", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFrame(nc, msg1); err != nil {
		t.Fatal(err)
	}
	msg2, err := readFrame(nc)
	if err != nil || len(msg2) != 1+32+16 || msg2[0] != 0x02 {
		t.Fatalf("first replay: answer %x, %v", msg2, err)
	}
	_ = writeFrame(nc, append([]byte{0x03}, make([]byte, 40)...)) // an identity the replayer cannot encrypt
	if !closedWithin(nc, 3*time.Second) {
		t.Fatal("first replay not closed")
	}
	_ = nc.Close()
	// Second replay: refused at once.
	nc, err = dialFrom("127.0.0.2", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := writeFrame(nc, msg1); err != nil {
		t.Fatal(err)
	}
	if resp, err := readFrame(nc); err != nil || len(resp) == 0 || resp[0] != 0x04 {
		t.Fatalf("second replay: answer %q, %v", resp, err)
	}
	eventually(t, "replay logged with the peer address", 3*time.Second, func() bool {
		return logLine(a, `reason="replay"`, nc.LocalAddr().String()) != ""
	})
	eventually(t, "replay counted", 3*time.Second, func() bool {
		r := rejections(t, a)
		return r["replay"] >= before["replay"]+1 && r["auth"] >= before["auth"]+1
	})
}

// reflection is the attack of issue 10: two connections, to a and to b,
// each handed what the other sends. Nothing may leave either node before the
// peer has proven the token, and both connections must be closed.
func reflection(t *testing.T, a, b *proc) {
	ca, err := dialFrom("127.0.0.3", a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close()
	cb, err := dialFrom("127.0.0.3", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close()
	buf := make([]byte, 64)
	for _, nc := range []net.Conn{ca, cb} {
		_ = nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, _ := nc.Read(buf); n > 0 {
			t.Fatalf("a listener spoke first: %q", buf[:n])
		}
		_ = nc.SetReadDeadline(time.Time{})
	}
	var wg sync.WaitGroup
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		b := make([]byte, 1024)
		for {
			n, err := src.Read(b)
			if n > 0 {
				_, _ = dst.Write(b[:n])
			}
			if err != nil {
				_ = dst.Close()
				return
			}
		}
	}
	wg.Add(2)
	start := time.Now()
	go pipe(ca, cb)
	go pipe(cb, ca)
	wg.Wait()
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("reflected connections held for %v", d)
	}
	// Whichever listener's handshake timer fires first closes its side; the
	// pipe then closes the other connection, whose listener sees the end of
	// an unfinished handshake. Both are rejections logged with the address.
	eventually(t, "reflection attempt logged with the peer address", 3*time.Second, func() bool {
		ta := logLine(a, `reason="timeout"`, ca.LocalAddr().String()) != ""
		tb := logLine(b, `reason="timeout"`, cb.LocalAddr().String()) != ""
		ra := ta || logLine(a, `reason="closed"`, ca.LocalAddr().String()) != ""
		rb := tb || logLine(b, `reason="closed"`, cb.LocalAddr().String()) != ""
		return (ta || tb) && ra && rb
	})
}

// logLine returns the first line of p's log holding every one of parts.
func logLine(p *proc, parts ...string) string {
	for _, line := range strings.Split(p.log.String(), "\n") {
		all := true
		for _, s := range parts {
			all = all && strings.Contains(line, s)
		}
		if all {
			return line
		}
	}
	return ""
}

// unauthHolders opens connections that never finish a handshake: idle ones
// and ones that sent half a frame.
func unauthHolders(t *testing.T, b *proc) {
	var conns []net.Conn
	for i := range 16 {
		nc, err := dialFrom("127.0.0.5", b.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if i%2 == 1 {
			_, _ = nc.Write([]byte{0xff, 0x03, 0x00, 0x00, 0x01, 'L'}) // a handshake frame, never finished
		}
		conns = append(conns, nc)
	}
	// Beyond the per-address cap: closed at once.
	extra, err := dialFrom("127.0.0.5", b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !closedWithin(extra, 2*time.Second) {
		t.Fatal("connection beyond the per-address cap was kept")
	}
	for i, nc := range conns {
		if !closedWithin(nc, 8*time.Second) {
			t.Fatalf("unauthenticated connection %d held past the handshake timeout", i)
		}
	}
}

// authHolders uses the token (a compromised client) to hold authenticated
// links idle or with a half-sent large frame.
func authHolders(t *testing.T, b *proc) {
	type held struct {
		nc    net.Conn
		limit time.Duration
	}
	var hs []held
	for i := range 20 {
		nc, err := dialFrom("127.0.0.4", b.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if _, err := noiseDial(nc, token, fmt.Sprintf("holder-%d", i)); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			hs = append(hs, held{nc, 20 * time.Second}) // idle timeout 15s
			continue
		}
		// Announce 4 MiB - 1, send 1 MiB, stall.
		hdr := binary.LittleEndian.AppendUint32(nil, 4<<20-1)
		if _, err := nc.Write(append(hdr, make([]byte, 1<<20)...)); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, held{nc, 15 * time.Second}) // frame timeout 10s
	}
	start := time.Now()
	for i, h := range hs {
		left := h.limit - time.Since(start)
		if !closedWithin(h.nc, max(left, time.Millisecond)) {
			t.Fatalf("holder %d not closed within %v", i, h.limit)
		}
	}
}

// httpFlood holds keep-alive and half-sent-header HTTP connections.
func httpFlood(t *testing.T, m *proc) {
	var idle, slow []net.Conn
	for i := range 300 {
		nc, err := dialFrom(fmt.Sprintf("127.0.0.%d", 20+i%10), m.http)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if i%6 == 0 {
			_, _ = nc.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")) // never finished
			slow = append(slow, nc)
			continue
		}
		_, _ = nc.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
		idle = append(idle, nc)
	}
	start := time.Now()
	for i, nc := range slow {
		if !closedWithin(nc, 8*time.Second-time.Since(start)) {
			t.Fatalf("half-sent header %d held past the header timeout", i)
		}
	}
	for i, nc := range idle {
		if !closedWithin(nc, 20*time.Second-time.Since(start)) { // idle timeout 15s
			t.Fatalf("idle keep-alive connection %d held past the idle timeout", i)
		}
	}
}

// exhaustFDs holds more connections than node c has file descriptors: its
// accept loop must survive, its readiness must drop, and it must serve
// again once the connections go.
func exhaustFDs(t *testing.T, e *env, c *proc) {
	var conns []net.Conn
	for i := range 120 {
		nc, err := dialFrom(fmt.Sprintf("127.0.0.%d", 40+i/15), c.addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
	}
	defer func() {
		for _, nc := range conns {
			_ = nc.Close()
		}
	}()
	eventually(t, "accept failure logged", 5*time.Second, func() bool { return strings.Contains(c.log.String(), "Accept failed") })
	if code, body := httpGet(c.http, contract.PathReadyz); code == 200 {
		t.Fatal("c reports ready while its cluster port cannot accept")
	} else {
		t.Logf("c's readiness during the attack: %d %s", code, strings.TrimSpace(body))
	}
	for _, nc := range conns {
		_ = nc.Close()
	}
	eventually(t, "c ready again", 15*time.Second, func() bool { return ready(c) })
	// A new connection to c's cluster port works: lotouctl joins through
	// the master and calls echo:c, dialling c directly.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(e.bin, "lotouctl"), "--token-file", e.tokenFile, "--master", e.procs[0].addr,
		"--timeout", "3s", "call", contract.EchoName("c"), "echo", "7").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "[7]" {
		t.Fatalf("lotouctl through c after the attack: %v: %s", err, out)
	}
}
