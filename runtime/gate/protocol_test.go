package gate

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/lotou-io/lotou/runtime/codec"
	lotoubin "github.com/lotou-io/lotou/runtime/codec/binary"
)

// Golden bytes pinned in docs/protocol.md.
var golden = []struct {
	name string
	m    Message
	hex  string
}{
	{"hello", Message{Kind: KindHello, Session: 1, Cmd: Version, Payload: []byte("ann")},
		"01" + "01000000" + "0c000000" + hex.EncodeToString([]byte("lotou.gate/1")) + "03000000" + "616e6e"},
	{"call", Message{Kind: KindCall, Session: 2, Cmd: "say", Payload: []byte("hi")},
		"03" + "02000000" + "03000000" + "736179" + "02000000" + "6869"},
	{"reply", Message{Kind: KindReply, Session: 2}, "04" + "02000000" + "00000000" + "00000000"},
	{"push", Message{Kind: KindPush, Cmd: "msg", Payload: []byte{1}}, "06" + "00000000" + "03000000" + "6d7367" + "01000000" + "01"},
}

func TestGoldenBytes(t *testing.T) {
	for _, tc := range golden {
		t.Run(tc.name, func(t *testing.T) {
			got := hex.EncodeToString(AppendMessage(nil, &tc.m))
			if got != tc.hex {
				t.Fatalf("encoding\n got %s\nwant %s", got, tc.hex)
			}
			viaCodec, err := lotoubin.Marshal(&tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(viaCodec) != tc.hex {
				t.Fatalf("the binary codec encodes %x, the gate %s", viaCodec, tc.hex)
			}
			m, err := DecodeMessage(AppendMessage(nil, &tc.m), 0)
			if err != nil || m.Kind != tc.m.Kind || m.Session != tc.m.Session || m.Cmd != tc.m.Cmd || !bytes.Equal(m.Payload, tc.m.Payload) {
				t.Fatalf("round trip = %+v, %v", m, err)
			}
			frame := AppendFrame(nil, &tc.m)
			if int(frame[0]) != len(frame)-4 || !bytes.Equal(frame[4:], AppendMessage(nil, &tc.m)) {
				t.Fatalf("frame %x", frame)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	ok := AppendMessage(nil, &Message{Kind: KindCall, Session: 1, Cmd: "a", Payload: []byte("b")})
	long := AppendMessage(nil, &Message{Kind: KindCall, Cmd: string(bytes.Repeat([]byte{'c'}, 300))})
	cases := []struct {
		name string
		in   []byte
		max  int
	}{
		{"empty", nil, 0},
		{"short", ok[:5], 0},
		{"trailing", append(append([]byte(nil), ok...), 0), 0},
		{"cut payload", ok[:len(ok)-1], 0},
		{"kind 0", append([]byte{0}, ok[1:]...), 0},
		{"over max", ok, 5},
		{"long command", long, 0},
		{"huge cmd length", []byte{3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeMessage(tc.in, tc.max); !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeMessage(%x) = %v, want ErrMalformed", tc.in, err)
			}
		})
	}
}

func TestBucket(t *testing.T) {
	var b bucket
	t0 := mustTime(0)
	steps := []struct {
		at   int64 // milliseconds
		want bool
	}{{0, true}, {0, true}, {0, false}, {500, false}, {1000, true}, {1000, false}, {5000, true}, {5000, true}, {5000, false}}
	for i, s := range steps {
		if got := b.allow(t0.Add(msDuration(s.at)), 1, 2); got != s.want {
			t.Fatalf("step %d at %dms: allow = %v, want %v", i, s.at, got, s.want)
		}
	}
	var off bucket
	for range 100 {
		if !off.allow(t0, -1, 0) {
			t.Fatal("a disabled limit refused")
		}
	}
}

// FuzzDecodeMessage feeds hostile bytes to the client decoder: it must
// never panic, and whatever it accepts must re-encode to the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	for _, g := range golden {
		b, _ := hex.DecodeString(g.hex)
		f.Add(b)
	}
	f.Add([]byte{3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data, 1<<16)
		if err != nil {
			return
		}
		if again := AppendMessage(nil, &m); !bytes.Equal(again, data) {
			t.Fatalf("accepted %x but re-encodes to %x", data, again)
		}
	})
}

// FuzzDecodeMatchesCodec holds the hand-written DecodeMessage to the
// "binary" codec it stands for: what the gate accepts the codec decodes
// to the same message, and what the codec decodes within the gate's
// rules (exact length, kind, command length) the gate accepts.
func FuzzDecodeMatchesCodec(f *testing.F) {
	for _, g := range golden {
		b, _ := hex.DecodeString(g.hex)
		f.Add(b)
	}
	f.Add([]byte{3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := DecodeMessage(data, 0)
		var c Message
		cerr := lotoubin.UnmarshalLimits(data, &c, codec.Limits{MaxLen: len(data), MaxDepth: 2, MaxAlloc: int64(2 * len(data))})
		if err == nil {
			if cerr != nil {
				t.Fatalf("the gate accepts %x, the codec refuses it: %v", data, cerr)
			}
			if m.Kind != c.Kind || m.Session != c.Session || m.Cmd != c.Cmd || !bytes.Equal(m.Payload, c.Payload) {
				t.Fatalf("%x: gate %+v, codec %+v", data, m, c)
			}
			return
		}
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error %v does not wrap ErrMalformed", err)
		}
		if cerr == nil && len(data) == minMessage+len(c.Cmd)+len(c.Payload) && len(c.Cmd) <= maxCmdLen &&
			c.Kind >= KindHello && c.Kind <= KindPong {
			t.Fatalf("the codec decodes %x to %+v, the gate refuses it: %v", data, c, err)
		}
	})
}
