package gate

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // RFC 6455 names SHA-1 for Sec-WebSocket-Accept; it is not a security check
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// wsGUID is RFC 6455's key suffix for Sec-WebSocket-Accept.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxRequestHead bounds the request head the gate reads itself; a longer
// one goes to the HTTP server, which applies its own limit.
const maxRequestHead = 8 << 10

// wsAccept is the Sec-WebSocket-Accept value for a Sec-WebSocket-Key.
func wsAccept(key string) string {
	sum := sha1.Sum([]byte(key + wsGUID)) //nolint:gosec // see the import
	return base64.StdEncoding.EncodeToString(sum[:])
}

// wsHandshake is what the gate makes of an HTTP request.
type wsHandshake struct {
	ours   bool   // the WebSocket path: the gate answers, not the HTTP server
	status int    // the refusal's HTTP status; 0 when the upgrade is good
	text   string // why it is refused
	accept string // Sec-WebSocket-Accept when it is good
}

// upgradeRequest is what of an HTTP request an upgrade depends on.
type upgradeRequest struct {
	wsPath, get, http11    bool // the path is PathWebSocket, the method GET, the version HTTP/1.1
	connUpgrade, upgradeWS bool // Connection holds "upgrade", Upgrade holds "websocket"
	version, key           string
}

// checkUpgrade decides on an opening handshake (RFC 6455 §4.2.1). Origins
// are not checked: clients authenticate with their Hello, not cookies.
func checkUpgrade(u upgradeRequest) wsHandshake {
	if !u.wsPath {
		return wsHandshake{}
	}
	refuse := func(status int, text string) wsHandshake { return wsHandshake{ours: true, status: status, text: text} }
	switch {
	case !u.get || !u.http11:
		return refuse(http.StatusBadRequest, "a WebSocket upgrade is a GET over HTTP/1.1")
	case !u.connUpgrade || !u.upgradeWS:
		return refuse(http.StatusUpgradeRequired, "this path is a WebSocket endpoint")
	case u.version != "13":
		return refuse(http.StatusUpgradeRequired, "unsupported Sec-WebSocket-Version, want 13")
	}
	if b, err := base64.StdEncoding.DecodeString(u.key); err != nil || len(b) != 16 {
		return refuse(http.StatusBadRequest, "Sec-WebSocket-Key is not 16 bytes in base64")
	}
	return wsHandshake{ours: true, accept: wsAccept(u.key)}
}

var (
	crlf   = []byte("\r\n")
	crlf2  = []byte("\r\n\r\n")
	colon  = []byte(":")
	space  = []byte(" ")
	query  = []byte("?")
	commas = []byte(",")
)

// parseRequestHead reads what an upgrade depends on from a request head
// (request line and header lines, up to the empty line). It allocates only
// the two header values it keeps; false means it is not a request this
// parser understands, for the HTTP server to answer.
func parseRequestHead(head []byte) (upgradeRequest, bool) {
	var u upgradeRequest
	line, rest, ok := bytes.Cut(head, crlf)
	method, line, ok1 := bytes.Cut(line, space)
	target, proto, ok2 := bytes.Cut(line, space)
	if !ok || !ok1 || !ok2 {
		return u, false
	}
	path, _, _ := bytes.Cut(target, query)
	u.wsPath, u.get, u.http11 = string(path) == PathWebSocket, string(method) == http.MethodGet, string(proto) == "HTTP/1.1"
	for {
		line, rest, ok = bytes.Cut(rest, crlf)
		if !ok || len(line) == 0 {
			return u, ok
		}
		name, value, found := bytes.Cut(line, colon)
		if !found {
			return u, false
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Connection")):
			u.connUpgrade = u.connUpgrade || hasToken(value, "upgrade")
		case bytes.EqualFold(name, []byte("Upgrade")):
			u.upgradeWS = u.upgradeWS || hasToken(value, "websocket")
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Version")):
			u.version = string(value)
		case bytes.EqualFold(name, []byte("Sec-WebSocket-Key")):
			u.key = string(value)
		}
	}
}

// upgradeFromHTTP is parseRequestHead for a request the HTTP server read.
func upgradeFromHTTP(r *http.Request) upgradeRequest {
	has := func(name, token string) bool {
		for _, v := range r.Header.Values(name) {
			if hasToken([]byte(v), token) {
				return true
			}
		}
		return false
	}
	return upgradeRequest{wsPath: r.URL.Path == PathWebSocket, get: r.Method == http.MethodGet, http11: r.ProtoAtLeast(1, 1),
		connUpgrade: has("Connection", "upgrade"), upgradeWS: has("Upgrade", "websocket"),
		version: r.Header.Get("Sec-WebSocket-Version"), key: r.Header.Get("Sec-WebSocket-Key")}
}

// hasToken reports whether a comma-separated header value holds token.
func hasToken(value []byte, token string) bool {
	for t := range bytes.SplitSeq(value, commas) {
		if bytes.EqualFold(bytes.TrimSpace(t), []byte(token)) {
			return true
		}
	}
	return false
}

// appendHandshakeResponse appends the HTTP response for hs.
func appendHandshakeResponse(buf []byte, hs wsHandshake) []byte {
	if hs.status == 0 {
		return fmt.Appendf(buf, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Accept: %s\r\n\r\n", hs.accept)
	}
	body := hs.text + "\n"
	return fmt.Appendf(buf, "HTTP/1.1 %d %s\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"+
		"Content-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		hs.status, http.StatusText(hs.status), len(body), body)
}

// headBufs holds the buffers request heads are read into: a connection
// holds one only until its handshake is answered.
var headBufs = sync.Pool{New: func() any { b := make([]byte, maxRequestHead); return &b }}

// serveHTTP reads a request head that began with "GET " (prefix) into a
// pooled buffer: a WebSocket upgrade on PathWebSocket is answered here,
// without the HTTP server's per-connection buffers and goroutine; anything
// else (or a head it cannot parse or over maxRequestHead) goes, replayed,
// to the HTTP server.
func (g *Gate) serveHTTP(nc net.Conn, prefix []byte) {
	bp := headBufs.Get().(*[]byte)
	defer headBufs.Put(bp)
	buf := *bp
	n, scanned, end := copy(buf, prefix), 0, -1
	var err error
	for {
		from := max(0, scanned-len(crlf2)+1)
		if i := bytes.Index(buf[from:n], crlf2); i >= 0 {
			end = from + i + len(crlf2)
			break
		}
		scanned = n
		if n == len(buf) || err != nil {
			break
		}
		var k int
		k, err = nc.Read(buf[n:])
		n += k
	}
	g.unsniff(nc)
	var hs wsHandshake
	if end >= 0 {
		if u, ok := parseRequestHead(buf[:end]); ok {
			hs = checkUpgrade(u)
		}
	}
	if !hs.ours {
		_ = nc.SetReadDeadline(time.Time{}) // the HTTP server sets its own
		if !g.httpLn.offer(&prefixConn{Conn: nc, prefix: bytes.Clone(buf[:n])}) {
			_ = nc.Close()
		}
		return
	}
	g.upgrade(nc, buf[end:n], hs)
}

// upgrade answers a handshake on nc; early is what was read past the
// request (frames a client sent before the answer). A good upgrade runs
// the client on a fresh goroutine: the one that read the request may have
// grown its stack.
func (g *Gate) upgrade(nc net.Conn, early []byte, hs wsHandshake) {
	_ = nc.SetWriteDeadline(time.Now().Add(g.opts.WriteTimeout))
	if _, err := nc.Write(appendHandshakeResponse(nil, hs)); err != nil || hs.status != 0 {
		_ = nc.Close()
		return
	}
	_ = nc.SetWriteDeadline(time.Time{})
	var r io.Reader = nc
	if len(early) > 0 {
		r = &prefixConn{Conn: nc, prefix: bytes.Clone(early)}
	}
	g.metrics.accepted[transportWS].Add(1)
	if c := g.newConn(newWSWire(nc, r, g.opts)); g.admitOrRefuse(c) {
		go g.serveAdmitted(c) // counted by admit, joined by Run
	}
}

// serveWSFallback takes the upgrades that reach the HTTP server: a request
// head over maxRequestHead, or an upgrade on a kept-alive HTTP connection.
func (g *Gate) serveWSFallback(w http.ResponseWriter, r *http.Request) {
	hs := checkUpgrade(upgradeFromHTTP(r))
	hj, ok := w.(http.Hijacker)
	if hs.status != 0 || !ok {
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, hs.text, max(hs.status, http.StatusBadRequest))
		return
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	early, _ := brw.Peek(brw.Reader.Buffered()) // Buffered alone is ambiguous on a bufio.ReadWriter
	g.upgrade(nc, early, hs)
}
