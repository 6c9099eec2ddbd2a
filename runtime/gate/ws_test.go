package gate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// clientFrame encodes a client frame: b0 is FIN|RSV|opcode as given,
// masked with a fixed key, the length in the shortest form unless long
// forces the 64-bit one.
func clientFrame(b0 byte, payload []byte, long bool) []byte {
	mask := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	buf := []byte{b0}
	switch n := len(payload); {
	case long:
		buf = binary.BigEndian.AppendUint64(append(buf, 0x80|127), uint64(n))
	case n <= 125:
		buf = append(buf, 0x80|byte(n))
	case n <= 0xffff:
		buf = binary.BigEndian.AppendUint16(append(buf, 0x80|126), uint16(n))
	default:
		buf = binary.BigEndian.AppendUint64(append(buf, 0x80|127), uint64(n))
	}
	buf = append(buf, mask[:]...)
	start := len(buf)
	buf = append(buf, payload...)
	wsUnmask(buf[start:], mask, 0)
	return buf
}

func closePayload(status uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, status), reason...)
}

func TestWSAccept(t *testing.T) {
	// RFC 6455 §1.3's example.
	if got := wsAccept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("accept %q", got)
	}
}

func TestParseWSHeader(t *testing.T) {
	cases := []struct {
		name   string
		in     []byte
		size   int
		length uint64
		status uint16 // an error with this status
	}{
		{"empty", nil, 0, 0, 0},
		{"one byte", []byte{0x82}, 0, 0, 0},
		{"short, no mask key yet", []byte{0x82, 0x85, 1, 2}, 0, 0, 0},
		{"short", clientFrame(0x82, []byte("hello"), false), 6, 5, 0},
		{"16-bit, partial", []byte{0x82, 0x80 | 126, 1}, 0, 0, 0},
		{"16-bit", clientFrame(0x82, make([]byte, 300), false)[:8], 8, 300, 0},
		{"64-bit", clientFrame(0x82, []byte("x"), true)[:14], 14, 1, 0},
		{"64-bit top bit", append([]byte{0x82, 0xff}, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4), 0, 0, wsProtocolError},
		{"unmasked", []byte{0x82, 0x05}, 0, 0, wsProtocolError},
		{"rsv1", []byte{0xc2, 0x80}, 0, 0, wsProtocolError},
		{"rsv3", []byte{0x92, 0x80}, 0, 0, wsProtocolError},
		{"reserved data opcode", []byte{0x83, 0x80}, 0, 0, wsProtocolError},
		{"reserved control opcode", []byte{0x8b, 0x80}, 0, 0, wsProtocolError},
		{"fragmented ping", []byte{0x09, 0x80}, 0, 0, wsProtocolError},
		{"long ping", []byte{0x89, 0x80 | 126, 0, 126}, 0, 0, wsProtocolError},
		{"ping", clientFrame(0x89, []byte("p"), false), 6, 1, 0},
		{"continuation", clientFrame(0x00, []byte("c"), false), 6, 1, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseWSHeader(tc.in)
			var we *wsError
			if tc.status != 0 {
				if !errors.As(err, &we) || we.status != tc.status || !errors.Is(err, ErrMalformed) {
					t.Fatalf("err %v, want status %d", err, tc.status)
				}
				return
			}
			if err != nil || h.size != tc.size || h.length != tc.length {
				t.Fatalf("header %+v, %v; want size %d length %d", h, err, tc.size, tc.length)
			}
		})
	}
}

// wsEvent is one thing a wsReader returned, for comparing runs.
type wsEvent struct {
	kind   wsFrameKind
	data   string
	status uint16 // close status echoed, or the error's
}

func readAllWS(r io.Reader, limit int) ([]wsEvent, error) {
	w := newWSReader(r, limit)
	var evs []wsEvent
	for {
		kind, data, status, err := w.next()
		if err != nil {
			var we *wsError
			if errors.As(err, &we) {
				evs = append(evs, wsEvent{kind: -1, status: we.status})
			}
			w.release()
			return evs, err
		}
		evs = append(evs, wsEvent{kind, string(data), status})
	}
}

func TestWSReader(t *testing.T) {
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	big := strings.Repeat("b", 5000) // more than the pooled buffer
	cases := []struct {
		name string
		in   []byte
		want []wsEvent
	}{
		{"one message", clientFrame(0x82, []byte("hello"), false), []wsEvent{{wsGotMessage, "hello", 0}}},
		{"empty message", clientFrame(0x82, nil, false), []wsEvent{{wsGotMessage, "", 0}}},
		{"two in one read", cat(clientFrame(0x82, []byte("a"), false), clientFrame(0x82, []byte("b"), true)),
			[]wsEvent{{wsGotMessage, "a", 0}, {wsGotMessage, "b", 0}}},
		{"fragments with a ping between", cat(clientFrame(0x02, []byte("he"), false), clientFrame(0x89, []byte("p"), false),
			clientFrame(0x00, []byte("l"), false), clientFrame(0x80, []byte("lo"), false)),
			[]wsEvent{{wsGotPing, "p", 0}, {wsGotMessage, "hello", 0}}},
		{"big, fragmented", cat(clientFrame(0x02, []byte(big[:3000]), false), clientFrame(0x80, []byte(big[3000:]), false)),
			[]wsEvent{{wsGotMessage, big, 0}}},
		{"pong", clientFrame(0x8a, []byte("x"), false), []wsEvent{{wsGotPong, "", 0}}},
		{"close", clientFrame(0x88, closePayload(4000, "bye"), false), []wsEvent{{wsGotClose, "", 4000}}},
		{"close without status", clientFrame(0x88, nil, false), []wsEvent{{wsGotClose, "", wsNormal}}},
		{"close of one byte", clientFrame(0x88, []byte{3}, false), []wsEvent{{-1, "", wsProtocolError}}},
		{"close status 1005", clientFrame(0x88, closePayload(1005, ""), false), []wsEvent{{-1, "", wsProtocolError}}},
		{"close status 999", clientFrame(0x88, closePayload(999, ""), false), []wsEvent{{-1, "", wsProtocolError}}},
		{"close reason not UTF-8", clientFrame(0x88, closePayload(1000, "\xff"), false), []wsEvent{{-1, "", wsInvalidPayload}}},
		{"text", clientFrame(0x81, []byte("hi"), false), []wsEvent{{-1, "", wsUnsupportedData}}},
		{"continuation first", clientFrame(0x80, []byte("x"), false), []wsEvent{{-1, "", wsProtocolError}}},
		{"binary inside a message", cat(clientFrame(0x02, []byte("x"), false), clientFrame(0x82, []byte("y"), false)),
			[]wsEvent{{-1, "", wsProtocolError}}},
		{"over max in one frame", clientFrame(0x82, make([]byte, 10000), false), []wsEvent{{-1, "", wsTooBig}}},
		{"over max announced only", clientFrame(0x82, make([]byte, 1<<20), false)[:14], []wsEvent{{-1, "", wsTooBig}}},
		{"over max by fragments", cat(clientFrame(0x02, make([]byte, 6000), false), clientFrame(0x80, make([]byte, 3000), false)),
			[]wsEvent{{-1, "", wsTooBig}}},
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{{"whole", func(r io.Reader) io.Reader { return r }}, {"byte by byte", iotest.OneByteReader}}
	for _, tc := range cases {
		for _, rd := range readers {
			t.Run(tc.name+"/"+rd.name, func(t *testing.T) {
				got, err := readAllWS(rd.wrap(bytes.NewReader(tc.in)), 8192)
				if err == nil {
					t.Fatal("the reader ended without an error")
				}
				if len(got) != len(tc.want) {
					t.Fatalf("events %v, want %v (err %v)", got, tc.want, err)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Fatalf("event %d: %+v, want %+v", i, got[i], tc.want[i])
					}
				}
			})
		}
	}
}

func TestAppendWSClose(t *testing.T) {
	long := strings.Repeat("é", 100) // 200 bytes, two per rune
	cases := []struct {
		name, reason, want string
	}{
		{"short", "idle: bye", "idle: bye"},
		{"cut on a rune boundary", long, strings.Repeat("é", 61)},
		{"not UTF-8", "\xff", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := appendWSClose(nil, wsPolicyViolation, tc.reason)
			if f[0] != 0x88 || int(f[1]) != len(f)-2 || len(f)-2 > wsMaxControl {
				t.Fatalf("frame %x", f)
			}
			if binary.BigEndian.Uint16(f[2:]) != wsPolicyViolation || string(f[4:]) != tc.want {
				t.Fatalf("payload %q", f[2:])
			}
		})
	}
}

func TestAppendWSHeader(t *testing.T) {
	for _, n := range []int{0, 125, 126, 0xffff, 0x10000} {
		h := appendWSHeader(nil, wsBinary, n)
		// Parse it as a client frame: set the mask bit and add a key.
		c := append(append([]byte(nil), h...), 0, 0, 0, 0)
		c[1] |= 0x80
		got, err := parseWSHeader(c)
		if err != nil || got.length != uint64(n) || got.size != len(c) || !got.fin || got.op != wsBinary {
			t.Fatalf("n=%d: header %x parses as %+v, %v", n, h, got, err)
		}
	}
}

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// readerSlack is what a reader may allocate whatever it reads: a pooled
// buffer, a payload's first growth, error texts.
const readerSlack = 16 << 10

// FuzzWSReader feeds hostile client bytes to the WebSocket frame reader,
// whole and a byte at a time: it must never panic, never return a
// message over max, and never allocate more than a small multiple of the
// bytes it was given.
func FuzzWSReader(f *testing.F) {
	f.Add(clientFrame(0x82, []byte("hello"), false))
	f.Add(bytes.Join([][]byte{clientFrame(0x02, []byte("he"), false), clientFrame(0x89, []byte("p"), false),
		clientFrame(0x80, []byte("llo"), true), clientFrame(0x88, closePayload(1000, "ok"), false)}, nil))
	f.Add(clientFrame(0x82, make([]byte, 70000), false)[:20])
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader} {
			total, longest := 0, 0
			got := allocated(func() {
				w := newWSReader(wrap(bytes.NewReader(data)), limit)
				defer w.release()
				for {
					_, m, _, err := w.next()
					if err != nil {
						return
					}
					total, longest = total+len(m), max(longest, len(m))
				}
			})
			if longest > limit {
				t.Fatalf("a message of %d bytes, max %d", longest, limit)
			}
			if total > len(data) {
				t.Fatalf("%d bytes of messages from %d bytes", total, len(data))
			}
			if bound := uint64(8*len(data) + readerSlack); got > bound {
				t.Fatalf("%d input bytes allocated %d bytes, want at most %d", len(data), got, bound)
			}
		}
	})
}

// FuzzTCPReader does the same for the TCP framing (4-byte length prefix).
func FuzzTCPReader(f *testing.F) {
	f.Add(AppendFrame(nil, &Message{Kind: KindCall, Session: 1, Cmd: "echo", Payload: []byte("x")}))
	f.Add([]byte{0xff, 0xff, 0, 0, 1, 2, 3})
	f.Add([]byte{0, 0, 0, 0})
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, wrap := range []func(io.Reader) io.Reader{func(r io.Reader) io.Reader { return r }, iotest.OneByteReader} {
			total := 0
			got := allocated(func() {
				var in pendingReader
				in.init(wrap(bytes.NewReader(data)))
				for {
					m, err := readTCPMessage(&in, limit)
					if err != nil {
						in.release()
						return
					}
					if len(m) > limit {
						t.Fatalf("a message of %d bytes, max %d", len(m), limit)
					}
					total += len(m)
				}
			})
			if total > len(data) {
				t.Fatalf("%d bytes of messages from %d bytes", total, len(data))
			}
			if bound := uint64(8*len(data) + readerSlack); got > bound {
				t.Fatalf("%d input bytes allocated %d bytes, want at most %d", len(data), got, bound)
			}
		}
	})
}

func TestParseRequestHead(t *testing.T) {
	up := "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	good := upgradeRequest{wsPath: true, get: true, http11: true, connUpgrade: true, upgradeWS: true,
		version: "13", key: "dGhlIHNhbXBsZSBub25jZQ=="}
	cases := []struct {
		name string
		head string
		want upgradeRequest
		ok   bool
	}{
		{"upgrade", "GET /ws HTTP/1.1\r\nHost: x\r\n" + up, good, true},
		{"query and odd case", "GET /ws?room=1 HTTP/1.1\r\nupgrade: WebSocket\r\nCONNECTION: keep-alive,  upgrade\r\n" +
			"sec-websocket-version:13\r\nSec-Websocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  \r\n\r\n", good, true},
		{"another path", "GET /play HTTP/1.1\r\n" + up, upgradeRequest{get: true, http11: true, connUpgrade: true,
			upgradeWS: true, version: "13", key: "dGhlIHNhbXBsZSBub25jZQ=="}, true},
		{"HTTP/1.0", "GET /ws HTTP/1.0\r\n\r\n", upgradeRequest{wsPath: true, get: true}, true},
		{"Connection without upgrade", "GET /ws HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", upgradeRequest{wsPath: true, get: true, http11: true}, true},
		{"no request line", "\r\n\r\n", upgradeRequest{}, false},
		{"header without a colon", "GET /ws HTTP/1.1\r\nnonsense\r\n\r\n", upgradeRequest{wsPath: true, get: true, http11: true}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseRequestHead([]byte(tc.head))
			if ok != tc.ok || (ok && got != tc.want) {
				t.Fatalf("parse = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	if hs := checkUpgrade(good); !hs.ours || hs.status != 0 || hs.accept != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("the RFC's request: %+v", hs)
	}
}
