package attack

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/gate"
	"github.com/lotou-io/lotou/runtime/gate/client"
	"github.com/lotou-io/lotou/test/freeport"
	"github.com/lotou-io/lotou/test/nodebin"
)

// gateNode starts a standalone lotou-node with a gate (default ticket
// check under the cluster token, echo game).
func (e *env) gateNode(name string) (*proc, string) {
	e.t.Helper()
	p := &proc{name: name, addr: freeport.Addr(e.t), http: freeport.Addr(e.t), log: &nodebin.Output{}, done: make(chan struct{})}
	gateAddr := freeport.Addr(e.t)
	p.cmd = exec.Command(filepath.Join(e.bin, "lotou-node"), "--role", contract.RoleStandalone, "--name", name,
		"--listen", p.addr, "--http", p.http, "--token-file", e.tokenFile, "--gate", gateAddr, "--drain-timeout", "1s")
	p.cmd.Stderr = p.log
	p.cmd.Env = []string{}
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	e.procs = append(e.procs, p)
	e.wg.Go(func() { e.watchRSS(p) })
	return p, gateAddr
}

// TestGateAttacks attacks a node's game-client gate from 127.0.0.2 while a
// client with a valid ticket keeps calling: forged tickets, garbage, huge
// length prefixes, silent and half-sent connections, an over-rate client.
// Each attacker is cut off with a reason; the honest client never fails and
// the node's memory stays bounded.
func TestGateAttacks(t *testing.T) {
	e := newEnv(t)
	n, addr := e.gateNode("g")
	eventually(t, "gate node ready", 10*time.Second, func() bool { return ready(n) })
	ticket, err := gate.NewTicket([]byte(token), "honest", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	honest, err := client.Dial(ctx, addr, client.Options{Credentials: []byte(ticket)})
	if err != nil {
		t.Fatalf("honest client: %v", err)
	}
	defer func() { _ = honest.Close() }()
	var ok, bad atomic.Int64
	var lastErr atomic.Value
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := honest.Call(cctx, "echo", []byte("still here"))
			ccancel()
			switch {
			case err == nil:
				ok.Add(1)
			case ctx.Err() == nil:
				bad.Add(1)
				lastErr.Store(err.Error())
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	refused := func(t *testing.T, send []byte, want string) {
		t.Helper()
		nc, err := dialFrom("127.0.0.2", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = nc.Close() }()
		if _, err := nc.Write(send); err != nil {
			t.Fatal(err)
		}
		_ = nc.SetReadDeadline(time.Now().Add(15 * time.Second))
		for {
			b, err := readFrame(nc)
			if err != nil {
				t.Fatalf("closed without a %q error: %v", want, err)
			}
			if m, err := gate.DecodeMessage(b, 0); err == nil && m.Kind == gate.KindError && m.Session == 0 {
				if m.Cmd != want {
					t.Fatalf("closed with %q (%s), want %q", m.Cmd, m.Payload, want)
				}
				break
			}
		}
		if !closedWithin(nc, 5*time.Second) {
			t.Fatal("the gate kept the connection after its error")
		}
	}
	frame := func(m *gate.Message) []byte { return gate.AppendFrame(nil, m) }
	hello := func(cred string) []byte {
		return frame(&gate.Message{Kind: gate.KindHello, Session: 1, Cmd: gate.Version, Payload: []byte(cred)})
	}
	forged := "mallory." + fmt.Sprint(time.Now().Add(time.Hour).Unix()) + ".00"
	t.Run("forged ticket", func(t *testing.T) { refused(t, hello(forged), gate.CodeUnauthorized) })
	t.Run("expired ticket", func(t *testing.T) {
		old, _ := gate.NewTicket([]byte(token), "late", time.Now().Add(-time.Minute))
		refused(t, hello(old), gate.CodeUnauthorized)
	})
	t.Run("ticket signed with another token", func(t *testing.T) {
		other, _ := gate.NewTicket([]byte("not-the-token"), "eve", time.Now().Add(time.Hour))
		refused(t, hello(other), gate.CodeUnauthorized)
	})
	t.Run("garbage", func(t *testing.T) {
		refused(t, append(binary.LittleEndian.AppendUint32(nil, 6), 0xde, 0xad, 0xbe, 0xef, 0, 1), gate.CodeMalformed)
	})
	t.Run("1 GiB length prefix after a hello", func(t *testing.T) {
		refused(t, append(hello(ticket), binary.LittleEndian.AppendUint32(nil, 1<<30)...), gate.CodeTooLarge)
	})
	t.Run("over-rate client", func(t *testing.T) {
		c, err := client.Dial(ctx, addr, client.Options{Credentials: []byte(ticket)})
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		limited := 0
		for range 400 {
			var ge *client.Error
			if _, err := c.Call(ctx, "echo", nil); errors.As(err, &ge) && ge.Code == gate.CodeRateLimited {
				limited++
			}
		}
		if limited == 0 {
			t.Fatal("400 calls in a burst were never rate limited")
		}
	})
	t.Run("silent and half-sent connections", func(t *testing.T) {
		var conns []interface{ Close() error }
		for i := range 200 {
			nc, err := dialFrom("127.0.0.2", addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, nc)
			if i%2 == 1 {
				_, _ = nc.Write(hello(ticket)[:7])
			}
		}
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		last, err := dialFrom("127.0.0.2", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = last.Close() }()
		if !closedWithin(last, 15*time.Second) { // the gate's hello deadline is 10s
			t.Fatal("a silent connection outlived the hello deadline")
		}
	})

	cancel()
	wg.Wait()
	select {
	case <-n.done:
		t.Fatalf("the node exited during the attacks:\n%s", n.log.String())
	default:
	}
	if r := n.maxRSS.Load(); r > rssBound {
		t.Errorf("peaked at %d MiB RSS, bound %d MiB", r>>20, rssBound>>20)
	}
	if bad.Load() != 0 || ok.Load() == 0 {
		t.Errorf("honest client: %d calls failed (last: %v), %d succeeded", bad.Load(), lastErr.Load(), ok.Load())
	}
	t.Logf("honest client: %d calls answered during the attacks; node peak RSS %d MiB", ok.Load(), n.maxRSS.Load()>>20)
}
