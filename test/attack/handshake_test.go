package attack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// TestHostileHandshakes: a master and two slaves, called in a loop by a
// client, while a stranger without the token (and one with it) sends
// handshake messages of every wrong shape, order and speed. Every such
// connection is closed, no listener answers a first message that did not
// prove the token with anything but a refusal, and no call fails.
func TestHostileHandshakes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", 0)
	eventually(t, "master ready", 10*time.Second, func() bool { return ready(m) })
	a := e.node(contract.RoleSlave, "a", m.addr, 0)
	b := e.node(contract.RoleSlave, "b", m.addr, 0)
	for _, p := range []*proc{a, b} {
		eventually(t, p.name+" ready", 10*time.Second, func() bool { return ready(p) })
	}
	calls := newCaller(t, m.addr, "m", "a", "b")
	eventually(t, "calls answered", 10*time.Second, func() bool { return calls.ok.Load() >= 6 })
	calls.bad.Store(0)

	t.Run("malformed first messages", func(t *testing.T) { malformedFirst(t, a) })
	t.Run("slow at every stage", func(t *testing.T) { slowStages(t, b) })
	t.Run("messages out of order", func(t *testing.T) { outOfOrder(t, a) })
	t.Run("held handshake slots do not lock peers out", func(t *testing.T) { heldSlots(t, e, m) })

	for _, p := range []*proc{m, a, b} {
		select {
		case <-p.done:
			t.Fatalf("%s exited during the attacks", p.name)
		default:
		}
		if r := p.maxRSS.Load(); r > rssBound {
			t.Errorf("%s peaked at %d MiB RSS, bound %d MiB", p.name, r>>20, rssBound>>20)
		}
	}
	before := calls.ok.Load()
	eventually(t, "calls after the attacks", 5*time.Second, func() bool { return calls.ok.Load() >= before+6 })
	if bad := calls.bad.Load(); bad != 0 {
		t.Errorf("%d calls failed during the attacks (last: %v)", bad, calls.lastErr.Load())
	}
}

func frame(payload []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func header(version []byte) []byte { return append([]byte{0x01, 'L', 'O', 'T', 'N'}, version...) }

// answer reads what the listener sends on nc until it closes the
// connection or within passes: the frames, and whether it closed.
func answer(nc net.Conn, within time.Duration) (frames [][]byte, closed bool) {
	_ = nc.SetReadDeadline(time.Now().Add(within))
	for {
		f, err := readFrame(nc)
		if err != nil {
			var ne net.Error
			return frames, !errors.As(err, &ne) || !ne.Timeout()
		}
		frames = append(frames, f)
	}
}

// malformedFirst sends first messages of every wrong shape, each on its own
// connection: each is closed within two seconds, answered at most by a reject
// frame (type 4), never by a listener's Noise message (type 2).
func malformedFirst(t *testing.T, p *proc) {
	valid := header([]byte{0x03})
	tests := []struct {
		name string
		raw  []byte
	}{
		{"empty frame", frame(nil)},
		{"type byte only", frame([]byte{0x01})},
		{"magic cut short", frame([]byte{0x01, 'L', 'O'})},
		{"wrong magic", frame(append([]byte{0x01, 'L', 'O', 'T', 'X', 0x02}, random(48)...))},
		{"no version", frame([]byte{0x01, 'L', 'O', 'T', 'N'})},
		{"version 1", frame(append(header([]byte{0x01}), random(48)...))},
		{"version 2 (the previous one)", frame(append(header([]byte{0x02}), random(48)...))},
		{"version 4", frame(append(header([]byte{0x04}), random(48)...))},
		{"largest version", frame(append(header(binary.AppendUvarint(nil, 1<<64-1)), random(48)...))},
		{"version uvarint overflowing", frame(append(header(bytes.Repeat([]byte{0xff}, 11)), random(48)...))},
		{"version uvarint never ending", frame(header(bytes.Repeat([]byte{0x80}, 40)))},
		{"version 3 in two bytes", frame(append(header([]byte{0x83, 0x00}), random(48)...))},
		{"no Noise message", frame(valid)},
		{"Noise message one byte short", frame(append(bytes.Clone(valid), random(47)...))},
		{"Noise message of zeros", frame(append(bytes.Clone(valid), make([]byte, 48)...))},
		{"Noise message of random bytes", frame(append(bytes.Clone(valid), random(48)...))},
		{"largest handshake frame, random", frame(append(bytes.Clone(valid), random(1024-len(valid))...))},
		{"one byte over the handshake frame limit", binary.LittleEndian.AppendUint32(nil, 1025)},
		{"4 GiB announced", binary.LittleEndian.AppendUint32(nil, 1<<32-1)},
		{"listener's message first", frame(append([]byte{0x02}, random(48)...))},
		{"identity first", frame(append([]byte{0x03}, random(40)...))},
		{"reject first, with control characters", frame(append([]byte{0x04}, "\x1b[2J\x00\r\nfake log line"...))},
		{"unknown frame type", frame([]byte{0xff, 0xff})},
		{"TLS client hello", append([]byte{0x16, 0x03, 0x01, 0x00, 0xf4, 0x01}, random(64)...)},
		{"HTTP request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{"two first messages in one frame", frame(append(append(bytes.Clone(valid), random(48)...), append(bytes.Clone(valid), random(48)...)...))},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := dialFrom(fmt.Sprintf("127.0.1.%d", 1+i), p.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := nc.Write(tt.raw); err != nil {
				t.Fatal(err)
			}
			frames, closed := answer(nc, 2*time.Second)
			for _, f := range frames {
				if len(f) == 0 || f[0] != 0x04 {
					t.Fatalf("listener answered %x", f)
				}
			}
			if !closed {
				t.Fatal("connection still open after 2s")
			}
		})
	}
	eventually(t, p.name+" ready after malformed handshakes", 5*time.Second, func() bool { return ready(p) })
}

// slowStages stops, or trickles, at every stage of the handshake, with and
// without the token, each on its own connection side by side: every one is
// closed once the handshake timeout (5s) has passed since its accept.
func slowStages(t *testing.T, p *proc) {
	valid := header([]byte{0x03})
	proven := func(nc net.Conn) ([]byte, error) { // a token holder's message 1; returns message 3
		hs, err := handshakeState(token)
		if err != nil {
			return nil, err
		}
		msg1, _, _, err := hs.WriteMessage(bytes.Clone(initHeader), nil)
		if err != nil {
			return nil, err
		}
		if err := writeFrame(nc, msg1); err != nil {
			return nil, err
		}
		msg2, err := readFrame(nc)
		if err != nil || len(msg2) == 0 || msg2[0] != 0x02 {
			return nil, fmt.Errorf("message 2: %x, %v", msg2, err)
		}
		_, send, _, err := hs.ReadMessage(nil, msg2[1:])
		if err != nil {
			return nil, err
		}
		ident := append(binary.LittleEndian.AppendUint16(nil, 0), 1, 's', 0, 0)
		return send.Encrypt([]byte{0x03}, nil, ident)
	}
	// prep runs first and may read (a token holder's first two messages);
	// then trickle writes, side by side with the wait for the close.
	var msg3 []byte
	tests := []struct {
		name    string
		prep    func(nc net.Conn) error
		trickle func(nc net.Conn)
	}{
		{"silent", nil, nil},
		{"half a frame header", nil, func(nc net.Conn) { _, _ = nc.Write([]byte{54, 0}) }},
		{"half a first message", nil, func(nc net.Conn) {
			_, _ = nc.Write(frame(append(bytes.Clone(valid), random(48)...))[:30])
		}},
		{"first message a byte per 400ms", nil, func(nc net.Conn) {
			for _, c := range frame(append(bytes.Clone(valid), random(48)...)) {
				if _, err := nc.Write([]byte{c}); err != nil {
					return // closed under us: what we want
				}
				time.Sleep(400 * time.Millisecond)
			}
		}},
		{"token proven, then silent", func(nc net.Conn) error { _, err := proven(nc); return err }, nil},
		{"token proven, then half an identity", func(nc net.Conn) (err error) { msg3, err = proven(nc); return err }, nil},
		{"token proven, then an identity a byte per 400ms", func(nc net.Conn) error { _, err := proven(nc); return err }, nil},
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(tests))
	for i, tt := range tests {
		nc, err := dialFrom(fmt.Sprintf("127.0.2.%d", 1+i), p.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		start := time.Now()
		var m3 []byte
		if tt.prep != nil {
			msg3 = nil
			if err := tt.prep(nc); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			m3 = msg3
		}
		trickle := tt.trickle
		switch {
		case m3 != nil: // half of message 3
			trickle = func(nc net.Conn) { _, _ = nc.Write(frame(m3)[:len(m3)/2]) }
		case strings.Contains(tt.name, "identity a byte"):
			trickle = func(nc net.Conn) {
				b := frame(append([]byte{0x03}, random(40)...))
				for _, c := range b {
					if _, err := nc.Write([]byte{c}); err != nil {
						return
					}
					time.Sleep(400 * time.Millisecond)
				}
			}
		}
		wg.Go(func() {
			done := make(chan struct{})
			if trickle != nil {
				go func() { defer close(done); trickle(nc) }() // joined below
			} else {
				close(done)
			}
			if _, closed := answer(nc, 7*time.Second-time.Since(start)); !closed {
				errs <- fmt.Errorf("%s: still open %v after the accept", tt.name, time.Since(start).Round(time.Millisecond))
			}
			_ = nc.Close()
			<-done
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// outOfOrder: a token holder's messages in the wrong order, twice, or from
// another handshake. None of them gets a session.
func outOfOrder(t *testing.T, p *proc) {
	type hs struct {
		msg1, msg3 []byte
	}
	// start runs a handshake up to message 3 on nc.
	start := func(nc net.Conn) (hs, error) {
		st, err := handshakeState(token)
		if err != nil {
			return hs{}, err
		}
		msg1, _, _, err := st.WriteMessage(bytes.Clone(initHeader), nil)
		if err != nil {
			return hs{}, err
		}
		if err := writeFrame(nc, msg1); err != nil {
			return hs{}, err
		}
		msg2, err := readFrame(nc)
		if err != nil || len(msg2) == 0 || msg2[0] != 0x02 {
			return hs{}, fmt.Errorf("message 2: %x, %v", msg2, err)
		}
		_, send, _, err := st.ReadMessage(nil, msg2[1:])
		if err != nil {
			return hs{}, err
		}
		msg3, err := send.Encrypt([]byte{0x03}, nil, append(binary.LittleEndian.AppendUint16(nil, 0), 1, 'o', 0, 0))
		return hs{msg1, msg3}, err
	}
	tests := []struct {
		name string
		next func(own, other hs) []byte // what follows message 1 and 2 on the connection
	}{
		{"first message again", func(own, _ hs) []byte { return frame(own.msg1) }},
		{"another handshake's identity", func(_, other hs) []byte { return frame(other.msg3) }},
		{"identity with a flipped bit", func(own, _ hs) []byte {
			b := bytes.Clone(own.msg3)
			b[len(b)-1] ^= 1
			return frame(b)
		}},
		{"identity cut by one byte", func(own, _ hs) []byte { return frame(own.msg3[:len(own.msg3)-1]) }},
		{"identity with a byte appended", func(own, _ hs) []byte { return frame(append(bytes.Clone(own.msg3), 0)) }},
		{"identity as a reject frame", func(own, _ hs) []byte { return frame(append([]byte{0x04}, own.msg3[1:]...)) }},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dial := func(host int) net.Conn {
				nc, err := dialFrom(fmt.Sprintf("127.0.3.%d", host), p.addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = nc.Close() })
				return nc
			}
			other, err := start(dial(100 + i))
			if err != nil {
				t.Fatal(err)
			}
			nc := dial(1 + i)
			own, err := start(nc)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := nc.Write(tt.next(own, other)); err != nil {
				t.Fatal(err)
			}
			frames, closed := answer(nc, 2*time.Second)
			for _, f := range frames {
				if len(f) == 0 || f[0] != 0x04 {
					t.Fatalf("listener answered with a frame of type %x: a session", f[:min(1, len(f))])
				}
			}
			if !closed {
				t.Fatal("connection still open after 2s")
			}
		})
	}
}

var pendingLine = regexp.MustCompile(`(?m)^lotou_handshake_pending (\S+)$`)

func pendingOf(p *proc) int {
	_, body := httpGet(p.http, contract.PathMetrics)
	m := pendingLine.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	return int(n)
}

// heldSlots: a stranger holds every handshake slot of the master with
// silent connections from 16 addresses (16 each, the per-address cap),
// opening a new one a moment after each is closed. Peers that connect
// meanwhile (lotouctl joining through the master) must still get in: a full
// table evicts its oldest connection instead of refusing the newest.
func heldSlots(t *testing.T, e *env, m *proc) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for host := range 16 {
		for range 16 {
			wg.Go(func() {
				for ctx.Err() == nil {
					nc, err := dialFrom(fmt.Sprintf("127.0.4.%d", 1+host), m.addr)
					if err == nil {
						stop := context.AfterFunc(ctx, func() { _ = nc.Close() })
						_, _ = answer(nc, 10*time.Second)
						stop()
						_ = nc.Close()
					}
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond):
					}
				}
			})
		}
	}
	eventually(t, "every handshake slot of the master held", 10*time.Second, func() bool { return pendingOf(m) >= 120 })
	for i := range 3 {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(cctx, filepath.Join(e.bin, "lotouctl"), "--token-file", e.tokenFile, "--master", m.addr,
			"--timeout", "3s", "call", contract.EchoName("m"), "echo", strconv.Itoa(i)).CombinedOutput()
		ccancel()
		if err != nil || strings.TrimSpace(string(out)) != fmt.Sprintf("[%d]", i) {
			t.Fatalf("lotouctl while the slots are held (pending %d): %v: %s", pendingOf(m), err, out)
		}
	}
	if r := rejections(t, m); r["pending_limit"] < 1 {
		t.Errorf("no eviction counted: %v", r)
	}
}
