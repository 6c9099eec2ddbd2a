package gate_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/gate"
	"github.com/lotou-io/lotou/runtime/gate/client"
)

// rawTCP speaks the TCP framing by hand.
func rawTCP(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return nc
}

// readError reads frames until a KindError with session 0 and returns its code.
func readError(t *testing.T, nc net.Conn) string {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var head [4]byte
		if _, err := nc.Read(head[:]); err != nil {
			t.Fatalf("no error message before the close: %v", err)
		}
		buf := make([]byte, binary.LittleEndian.Uint32(head[:]))
		if _, err := ioReadFull(nc, buf); err != nil {
			t.Fatal(err)
		}
		m, err := gate.DecodeMessage(buf, 0)
		if err != nil {
			t.Fatal(err)
		}
		if m.Kind == gate.KindError && m.Session == 0 {
			return m.Cmd
		}
	}
}

func ioReadFull(nc net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := nc.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestHostileBytes(t *testing.T) {
	hello := gate.AppendFrame(nil, &gate.Message{Kind: gate.KindHello, Session: 1, Cmd: gate.Version, Payload: []byte("eve")})
	frame := func(b []byte) []byte {
		return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
	}
	cases := []struct {
		name  string
		hello bool
		send  []byte
		want  string
	}{
		{"garbage first", false, frame([]byte{0xff, 1, 2}), gate.CodeMalformed},
		{"not a hello first", false, gate.AppendFrame(nil, &gate.Message{Kind: gate.KindCall, Cmd: "echo"}), gate.CodeUnauthorized},
		{"wrong version", false, gate.AppendFrame(nil, &gate.Message{Kind: gate.KindHello, Cmd: "lotou.gate/0", Payload: []byte("eve")}), gate.CodeUnauthorized},
		{"truncated after hello", true, frame([]byte{byte(gate.KindCall), 0, 0}), gate.CodeMalformed},
		{"length past the payload", true, frame([]byte{byte(gate.KindCall), 1, 0, 0, 0, 200, 0, 0, 0, 'x'}), gate.CodeMalformed},
		{"too large prefix", true, binary.LittleEndian.AppendUint32(nil, 1<<30), gate.CodeTooLarge},
		{"server kind", true, gate.AppendFrame(nil, &gate.Message{Kind: gate.KindPush, Cmd: "x"}), gate.CodeBadKind},
		{"unknown kind", true, frame(gate.AppendMessage(nil, &gate.Message{Kind: 99})), gate.CodeMalformed},
	}
	h := start(t, gate.Options{})
	good := dial(t, h, false, client.Options{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc := rawTCP(t, h.addr)
			if tc.hello {
				if _, err := nc.Write(hello); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := nc.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			if got := readError(t, nc); got != tc.want {
				t.Fatalf("closed with %q, want %q", got, tc.want)
			}
			if _, err := good.Call(ctx5(t), "echo", []byte("still here")); err != nil {
				t.Fatalf("another client was affected: %v", err)
			}
		})
	}
}

func TestWebSocketHostile(t *testing.T) {
	h := start(t, gate.Options{MaxMessage: 1024})
	good := dial(t, h, true, client.Options{})
	cases := []struct {
		name string
		msg  []byte
		want string
	}{
		{"garbage", []byte{1, 2, 3}, gate.CodeMalformed},
		{"too large", bytes.Repeat([]byte{1}, 2000), gate.CodeTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, h, true, client.Options{})
			if err := c.WriteRaw(ctx5(t), tc.msg); err != nil {
				t.Fatal(err)
			}
			closedWith(t, c, tc.want)
			if _, err := good.Call(ctx5(t), "echo", nil); err != nil {
				t.Fatalf("another client was affected: %v", err)
			}
		})
	}
}

// TestSlowAndOddClients: connections that never say hello, stop mid-frame,
// or speak plain HTTP are closed or answered without affecting others.
func TestSlowAndOddClients(t *testing.T) {
	h := start(t, gate.Options{AuthTimeout: 300 * time.Millisecond})
	good := dial(t, h, false, client.Options{})
	cases := []struct {
		name string
		send []byte
	}{
		{"silent", nil},
		{"half a length prefix", []byte{5, 0}},
		{"half a hello", gate.AppendFrame(nil, &gate.Message{Kind: gate.KindHello, Cmd: gate.Version})[:9]},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc := rawTCP(t, h.addr)
			if tc.send != nil {
				if _, err := nc.Write(tc.send); err != nil {
					t.Fatal(err)
				}
			}
			_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 256)
			for {
				if _, err := nc.Read(buf); err != nil {
					break // closed by the gate
				}
			}
			if _, err := good.Call(ctx5(t), "echo", nil); err != nil {
				t.Fatalf("another client was affected: %v", err)
			}
		})
	}
	t.Run("plain HTTP", func(t *testing.T) {
		resp, err := http.Get("http://" + h.addr + "/nothing-here")
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404", resp.StatusCode)
		}
		resp, err = http.Get("http://" + h.addr + gate.PathJS)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d", gate.PathJS, resp.StatusCode)
		}
		resp, err = http.Get("http://" + h.addr + gate.PathWebSocket) // no upgrade headers
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Fatalf("a WebSocket path without an upgrade answered %d", resp.StatusCode)
		}
	})
	eventually(t, "odd connections gone", func() bool { return h.g.Sessions() == 1 })
}

// TestStopWithHalfOpenClients: Run returns promptly even with connections
// that never sent their first bytes (their deadline is AuthTimeout, 10s).
func TestStopWithHalfOpenClients(t *testing.T) {
	k, err := core.New(core.Options{Node: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = k.Stop(context.Background()) }()
	g, err := gate.New(gate.Options{Addr: "127.0.0.1:0", Service: ".none", Auth: gate.NameAuth})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, k) }()
	for range 3 {
		rawTCP(t, g.Addr().String()) // connected, silent
	}
	time.Sleep(100 * time.Millisecond) // accepted and sniffing
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run waited for silent clients")
	}
}
