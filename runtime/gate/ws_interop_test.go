package gate_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/lotou-io/lotou/runtime/gate"
	"github.com/lotou-io/lotou/runtime/gate/client"
)

// The gate's own WebSocket server against coder/websocket's client, the
// interop peer, and against hand-made hostile frames.

func wsDial(t *testing.T, h *harness) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(ctx5(t), "ws://"+h.addr+gate.PathWebSocket, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// wsRead reads one gate message.
func wsRead(t *testing.T, c *websocket.Conn) gate.Message {
	t.Helper()
	typ, b, err := c.Read(ctx5(t))
	if err != nil {
		t.Fatalf("reading from the gate: %v", err)
	}
	m, err := gate.DecodeMessage(b, 0)
	if typ != websocket.MessageBinary || err != nil {
		t.Fatalf("a %v message %x: %v", typ, b, err)
	}
	return m
}

// writeFragments sends b as one message in n fragments.
func writeFragments(t *testing.T, c *websocket.Conn, b []byte, n int) {
	t.Helper()
	w, err := c.Writer(ctx5(t), websocket.MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	step := (len(b) + n - 1) / n
	for len(b) > 0 {
		k := min(step, len(b))
		if _, err := w.Write(b[:k]); err != nil {
			t.Fatal(err)
		}
		b = b[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func wsHello(t *testing.T, c *websocket.Conn, fragments int) {
	t.Helper()
	writeFragments(t, c, gate.AppendMessage(nil, &gate.Message{Kind: gate.KindHello, Session: 1, Cmd: gate.Version, Payload: []byte("ws")}), fragments)
	if m := wsRead(t, c); m.Kind != gate.KindReply || string(m.Payload) != "ws" {
		t.Fatalf("hello answered %+v", m)
	}
}

// wsClosedWith reads the gate's KindError and its close frame.
func wsClosedWith(t *testing.T, c *websocket.Conn, code string, status websocket.StatusCode) {
	t.Helper()
	if m := wsRead(t, c); m.Kind != gate.KindError || m.Cmd != code {
		t.Fatalf("got %+v, want error %q", m, code)
	}
	_, _, err := c.Read(ctx5(t))
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != status || !strings.HasPrefix(ce.Reason, code) {
		t.Fatalf("closed with %v, want status %d and a reason starting %q", err, status, code)
	}
}

func TestWSInterop(t *testing.T) {
	h := start(t, gate.Options{MaxMessage: 200 << 10, IdleTimeout: 2 * time.Second})
	t.Run("fragments and a 64-bit length", func(t *testing.T) {
		c := wsDial(t, h)
		wsHello(t, c, 3)
		big := bytes.Repeat([]byte("0123456789"), 10<<10) // 100 KiB: the reply needs a 64-bit length
		writeFragments(t, c, gate.AppendMessage(nil, &gate.Message{Kind: gate.KindCall, Session: 2, Cmd: "echo", Payload: big}), 4)
		if m := wsRead(t, c); m.Kind != gate.KindReply || m.Session != 2 || !bytes.Equal(m.Payload, big) {
			t.Fatalf("echo of %d bytes answered %d bytes, kind %d", len(big), len(m.Payload), m.Kind)
		}
	})
	t.Run("ping", func(t *testing.T) {
		c := wsDial(t, h)
		wsHello(t, c, 1)
		read := make(chan error, 1)
		go func() { _, _, err := c.Read(context.Background()); read <- err }() // pongs are read by a reader
		if err := c.Ping(ctx5(t)); err != nil {
			t.Fatalf("ping: %v", err)
		}
		_ = c.CloseNow()
		if err := <-read; err == nil {
			t.Fatal("a read on a closed connection succeeded")
		}
	})
	t.Run("client close", func(t *testing.T) {
		eventually(t, "the clients before gone", func() bool { return h.g.Sessions() == 0 })
		before := h.g.Metrics().Closed("")
		c := wsDial(t, h)
		wsHello(t, c, 1)
		if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatalf("the close handshake: %v", err)
		}
		eventually(t, "the client's close counted", func() bool { return h.g.Metrics().Closed("") == before+1 })
	})
	cases := []struct {
		name   string
		send   func(t *testing.T, c *websocket.Conn)
		code   string
		status websocket.StatusCode
	}{
		{"text", func(t *testing.T, c *websocket.Conn) {
			if err := c.Write(ctx5(t), websocket.MessageText, []byte("hi")); err != nil {
				t.Fatal(err)
			}
		}, gate.CodeMalformed, websocket.StatusUnsupportedData},
		{"too large", func(t *testing.T, c *websocket.Conn) {
			_ = c.Write(ctx5(t), websocket.MessageBinary, make([]byte, 300<<10))
		}, gate.CodeTooLarge, websocket.StatusMessageTooBig},
		{"garbage", func(t *testing.T, c *websocket.Conn) {
			if err := c.Write(ctx5(t), websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
		}, gate.CodeMalformed, websocket.StatusInvalidFramePayloadData},
		{"idle", func(*testing.T, *websocket.Conn) {}, gate.CodeIdle, websocket.StatusGoingAway},
		{"kicked", func(t *testing.T, c *websocket.Conn) {
			if err := c.Write(ctx5(t), websocket.MessageBinary, gate.AppendMessage(nil, &gate.Message{Kind: gate.KindSend, Cmd: "register"})); err != nil {
				t.Fatal(err)
			}
			if err := h.k.Send(<-h.agents, "kick", "cheating"); err != nil {
				t.Fatal(err)
			}
		}, gate.CodeKicked, websocket.StatusPolicyViolation},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := wsDial(t, h)
			wsHello(t, c, 1)
			tc.send(t, c)
			wsClosedWith(t, c, tc.code, tc.status)
		})
	}
}

// rawWS is a WebSocket client made by hand, for frames no library sends.
type rawWS struct {
	nc net.Conn
	br *bufio.Reader
}

func wsHandshake(t *testing.T, addr string, extra string, early []byte) (*rawWS, *http.Response) {
	t.Helper()
	nc := rawTCP(t, addr)
	var key [16]byte
	_, _ = rand.Read(key[:])
	k := base64.StdEncoding.EncodeToString(key[:])
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\n%s\r\n", gate.PathWebSocket, addr, k, extra)
	if _, err := nc.Write(append([]byte(req), early...)); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return &rawWS{nc: nc, br: br}, resp
}

// maskedFrame is a client frame: b0 is FIN|RSV|opcode, the length in
// its shortest form unless announce is set, which replaces it.
func maskedFrame(b0 byte, payload []byte, announce uint64) []byte {
	buf := []byte{b0}
	n := uint64(len(payload))
	if announce != 0 {
		n = announce
	}
	switch {
	case n <= 125:
		buf = append(buf, 0x80|byte(n))
	case n <= 0xffff:
		buf = binary.BigEndian.AppendUint16(append(buf, 0x80|126), uint16(n))
	default:
		buf = binary.BigEndian.AppendUint64(append(buf, 0x80|127), n)
	}
	mask := []byte{9, 8, 7, 6}
	buf = append(buf, mask...)
	for i, b := range payload {
		buf = append(buf, b^mask[i%4])
	}
	return buf
}

// frame reads one server frame.
func (r *rawWS) frame(t *testing.T) (op byte, payload []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r.br, h[:]); err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	if h[0]&0x70 != 0 || h[1]&0x80 != 0 {
		t.Fatalf("server frame header %x: reserved bits or a mask", h)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		_, _ = io.ReadFull(r.br, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		_, _ = io.ReadFull(r.br, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r.br, payload); err != nil {
		t.Fatal(err)
	}
	return h[0] & 0x0f, payload
}

// closeStatus reads frames until the close frame and returns its status
// and the gate's error code sent before it.
func (r *rawWS) closeStatus(t *testing.T) (status uint16, code string) {
	t.Helper()
	for {
		op, p := r.frame(t)
		switch op {
		case 0x8:
			if len(p) < 2 {
				t.Fatalf("close frame %x", p)
			}
			return binary.BigEndian.Uint16(p), code
		case 0x2:
			if m, err := gate.DecodeMessage(p, 0); err == nil && m.Kind == gate.KindError {
				code = m.Cmd
			}
		}
	}
}

func TestWSHostileFrames(t *testing.T) {
	h := start(t, gate.Options{MaxMessage: 4096})
	good := dial(t, h, true, client.Options{})
	hello := gate.AppendMessage(nil, &gate.Message{Kind: gate.KindHello, Session: 1, Cmd: gate.Version, Payload: []byte("eve")})
	call := gate.AppendMessage(nil, &gate.Message{Kind: gate.KindCall, Session: 2, Cmd: "echo"})
	closeWith := func(status uint16, reason string) []byte {
		return append(binary.BigEndian.AppendUint16(nil, status), reason...)
	}
	cases := []struct {
		name   string
		send   []byte
		status uint16
		code   string
	}{
		{"unmasked", []byte{0x82, 0x01, 0x00}, 1002, gate.CodeMalformed},
		{"reserved bit", maskedFrame(0xc2, call, 0), 1002, gate.CodeMalformed},
		{"reserved opcode", maskedFrame(0x83, call, 0), 1002, gate.CodeMalformed},
		{"fragmented ping", maskedFrame(0x09, nil, 0), 1002, gate.CodeMalformed},
		{"long ping", maskedFrame(0x89, make([]byte, 126), 0), 1002, gate.CodeMalformed},
		{"continuation first", maskedFrame(0x80, call, 0), 1002, gate.CodeMalformed},
		{"binary inside a message", append(maskedFrame(0x02, call[:3], 0), maskedFrame(0x82, call, 0)...), 1002, gate.CodeMalformed},
		{"top bit of a 64-bit length", maskedFrame(0x82, nil, 1<<63), 1002, gate.CodeMalformed},
		{"a gigabyte announced", maskedFrame(0x82, nil, 1<<30), 1009, gate.CodeTooLarge},
		{"too large by fragments", append(maskedFrame(0x02, make([]byte, 3000), 0), maskedFrame(0x80, make([]byte, 3000), 0)...), 1009, gate.CodeTooLarge},
		{"text", maskedFrame(0x81, []byte("hi"), 0), 1003, gate.CodeMalformed},
		{"close status 999", maskedFrame(0x88, closeWith(999, ""), 0), 1002, gate.CodeMalformed},
		{"close reason not UTF-8", maskedFrame(0x88, closeWith(1000, "\xc3\x28"), 0), 1007, gate.CodeMalformed},
		{"close of one byte", maskedFrame(0x88, []byte{3}, 0), 1002, gate.CodeMalformed},
		{"a client's close is echoed", maskedFrame(0x88, closeWith(4001, "bye"), 0), 4001, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ws, resp := wsHandshake(t, h.addr, "Sec-WebSocket-Version: 13\r\n", nil)
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("handshake answered %d", resp.StatusCode)
			}
			if _, err := ws.nc.Write(maskedFrame(0x82, hello, 0)); err != nil {
				t.Fatal(err)
			}
			if op, p := ws.frame(t); op != 0x2 || p[0] != byte(gate.KindReply) {
				t.Fatalf("hello answered op %d %x", op, p)
			}
			if _, err := ws.nc.Write(tc.send); err != nil {
				t.Fatal(err)
			}
			status, code := ws.closeStatus(t)
			if status != tc.status || code != tc.code {
				t.Fatalf("closed with %d after error %q, want %d after %q", status, code, tc.status, tc.code)
			}
			if _, err := good.Call(ctx5(t), "echo", []byte("still here")); err != nil {
				t.Fatalf("another client was affected: %v", err)
			}
		})
	}
}

func TestWSHandshake(t *testing.T) {
	h := start(t, gate.Options{})
	hello := gate.AppendMessage(nil, &gate.Message{Kind: gate.KindHello, Session: 1, Cmd: gate.Version, Payload: []byte("early")})
	t.Run("accept key and early frames", func(t *testing.T) {
		ws, resp := wsHandshake(t, h.addr, "Sec-WebSocket-Version: 13\r\n", maskedFrame(0x82, hello, 0))
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") == "" ||
			resp.Header.Get("Sec-WebSocket-Extensions") != "" {
			t.Fatalf("handshake answered %d %v", resp.StatusCode, resp.Header)
		}
		if op, p := ws.frame(t); op != 0x2 || p[0] != byte(gate.KindReply) {
			t.Fatalf("a hello sent with the request answered op %d %x", op, p)
		}
	})
	head := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	key := "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	refusals := []struct {
		name, req string
		status    int
	}{
		{"no version", head + key + "\r\n", http.StatusUpgradeRequired},
		{"version 8", head + key + "Sec-WebSocket-Version: 8\r\n\r\n", http.StatusUpgradeRequired},
		{"short key", head + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: c2hvcnQ=\r\n\r\n", http.StatusBadRequest},
		{"no key", head + "Sec-WebSocket-Version: 13\r\n\r\n", http.StatusBadRequest},
		{"no upgrade", "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusUpgradeRequired},
		{"HTTP/1.0", "GET /ws HTTP/1.0\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key + "Sec-WebSocket-Version: 13\r\n\r\n", http.StatusBadRequest},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			if _, resp := rawHandshake(t, h.addr, tc.req); resp.StatusCode != tc.status {
				t.Fatalf("answered %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
	t.Run("upgrade on a kept-alive HTTP connection", func(t *testing.T) {
		nc, resp := rawHandshake(t, h.addr, "GET "+gate.PathJS+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s answered %d", gate.PathJS, resp.StatusCode)
		}
		if _, err := nc.Write(append([]byte(head+key+"Sec-WebSocket-Version: 13\r\n\r\n"), maskedFrame(0x82, hello, 0)...)); err != nil {
			t.Fatal(err)
		}
		ws := &rawWS{nc: nc, br: bufio.NewReader(nc)}
		resp, err := http.ReadResponse(ws.br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade answered %v, %v", resp, err)
		}
		if op, p := ws.frame(t); op != 0x2 || p[0] != byte(gate.KindReply) {
			t.Fatalf("hello answered op %d %x", op, p)
		}
	})
	t.Run("RFC example key", func(t *testing.T) {
		_, resp := rawHandshake(t, h.addr, head+key+"Sec-WebSocket-Version: 13\r\n\r\n")
		if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
			t.Fatalf("answered %d %v", resp.StatusCode, resp.Header)
		}
	})
}

func rawHandshake(t *testing.T, addr, req string) (net.Conn, *http.Response) {
	t.Helper()
	nc := rawTCP(t, addr)
	if _, err := nc.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	return nc, resp
}
