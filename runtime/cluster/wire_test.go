package cluster

import (
	"net"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

func TestMessageRoundTrip(t *testing.T) {
	reg := newCodec()
	tests := []core.Message{
		{Kind: core.KindSend, To: core.MakeID(2, 1), From: core.MakeID(3, 9), Cmd: "hit", Args: []any{1, "a"}},
		{Kind: core.KindCall, To: core.MakeID(65535, 1<<47), From: core.MakeID(3, 0), Session: 1 << 40, Cmd: "echo", Args: []any{core.ServiceID(7)}},
		{Kind: core.KindReply, To: core.MakeID(2, 1), From: core.MakeID(3, 9), Session: 4, Err: "boom"},
		{Kind: core.KindClose, To: core.MakeID(2, 1), From: core.MakeID(3, 9), Args: []any{true}},
	}
	for _, m := range tests {
		b, err := appendMessage(nil, &m, reg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeMessage(b, reg)
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind != m.Kind || got.To != m.To || got.From != m.From || got.Session != m.Session ||
			got.Cmd != m.Cmd || got.Err != m.Err || !reflect.DeepEqual(got.Args, m.Args) {
			t.Fatalf("got %+v want %+v", got, m)
		}
	}
}

// TestCallFrameSize pins the wire size of a remote Call(svc, "echo", 42).
func TestCallFrameSize(t *testing.T) {
	if n := CallFrameSize(); n > 40 {
		t.Fatalf("Call(svc, 42) frame is %d bytes, want <= 40", n)
	}
}

func TestControlRoundTrip(t *testing.T) {
	c := &Control{Type: CtlWelcome, Seq: 3, ID: 9, Name: "a", Addr: "h:1", Role: "slave", Service: 77, Err: "e", Heartbeat: 5,
		Nodes: []NodeEntry{{ID: 1, Name: "m", Addr: "x:1", Role: "master", Up: true}}, Names: []NameEntry{{"n", 42}}}
	got, err := decodeControl(appendControl(nil, c))
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("got %+v err %v", got, err)
	}
}

// FuzzDecodeMessage checks hostile data frames never panic.
func FuzzDecodeMessage(f *testing.F) {
	reg := newCodec()
	m := core.Message{Kind: core.KindCall, To: core.MakeID(2, 1), From: core.MakeID(3, 1), Session: 1, Cmd: "echo", Args: []any{42}}
	b, _ := appendMessage(nil, &m, reg)
	f.Add(b)
	f.Add([]byte{4, 1, 1, 1, 1, 1, 0xff})
	var cache cmdCache
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessageCached(b, reg, &cache)
		if err == nil {
			if _, err := appendMessage(nil, m, reg); err != nil {
				t.Fatalf("decoded message does not encode: %v", err)
			}
		}
	})
}

// FuzzDecodeControl checks hostile control frames never panic and that
// what decodes re-encodes to the same bytes.
func FuzzDecodeControl(f *testing.F) {
	f.Add(appendControl(nil, &Control{Type: CtlRegister, Name: "a", Names: []NameEntry{{"x", 1}}}))
	f.Add(appendControl(nil, &Control{Type: CtlWelcome, Nodes: []NodeEntry{{ID: 1}}}))
	f.Add([]byte{0x80, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeControl(b)
		if err != nil {
			return
		}
		if _, err := decodeControl(appendControl(nil, c)); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
	})
}

func TestDefaultAdvertise(t *testing.T) {
	tests := []struct {
		in      net.Addr
		wantEnd string
		exact   bool
	}{
		{&net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 4000}, "10.1.2.3:4000", true},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 4000}, ":4000", false},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 4001}, ":4001", false},
	}
	for _, tt := range tests {
		got := defaultAdvertise(tt.in)
		if tt.exact && got != tt.wantEnd || !strings.HasSuffix(got, tt.wantEnd) || strings.HasPrefix(got, "[::]") || strings.HasPrefix(got, "0.0.0.0") {
			t.Fatalf("defaultAdvertise(%v) = %q", tt.in, got)
		}
	}
}

func TestCmdCacheInterns(t *testing.T) {
	var c cmdCache
	names := [][]byte{[]byte("hit"), []byte("echo"), []byte("hit"), []byte("relay"), []byte("echo")}
	for _, b := range names { // learn them
		if got := c.intern(b); got != string(b) {
			t.Fatalf("intern(%q) = %q", b, got)
		}
	}
	for _, tt := range []struct {
		name string
		seq  [][]byte
	}{
		{"one command repeated", [][]byte{[]byte("hit")}},
		{"commands alternating", names},
	} {
		t.Run(tt.name, func(t *testing.T) {
			allocs := testing.AllocsPerRun(100, func() {
				for _, b := range tt.seq {
					if c.intern(b) != string(b) {
						t.Fatal("wrong name")
					}
				}
			})
			if allocs != 0 {
				t.Fatalf("%v allocations per run for known names", allocs)
			}
		})
	}
	for i := range 2 * maxCachedCmds { // a peer inventing names cannot grow it without bound
		c.intern([]byte(strconv.Itoa(i)))
	}
	if n := len(*c.m.Load()); n > maxCachedCmds {
		t.Fatalf("cache holds %d names", n)
	}
}

// TestBudgetOnTheWire: a Call or Request with a deadline carries the time
// left (relative: clocks differ) and the receiver turns it back into a
// deadline on its own clock; a spent one arrives spent; other kinds and
// Calls without a deadline carry none, and a budget flag on another kind is
// refused.
func TestBudgetOnTheWire(t *testing.T) {
	reg := newCodec()
	now := time.Now()
	tests := []struct {
		name     string
		m        core.Message
		min, max time.Duration // of the decoded deadline minus now; both 0: no deadline
	}{
		{"call 2s", core.Message{Kind: core.KindCall, Session: 1, Cmd: "x", Deadline: now.Add(2 * time.Second)}, time.Second, 2 * time.Second},
		{"request 50ms", core.Message{Kind: core.KindRequest, Session: 2, Cmd: "x", Deadline: now.Add(50 * time.Millisecond)}, time.Millisecond, 50 * time.Millisecond},
		{"spent", core.Message{Kind: core.KindCall, Session: 3, Cmd: "x", Deadline: now.Add(-time.Second)}, -time.Second, 10 * time.Millisecond},
		{"none", core.Message{Kind: core.KindCall, Session: 4, Cmd: "x"}, 0, 0},
		{"send ignores it", core.Message{Kind: core.KindSend, Cmd: "x", Deadline: now.Add(time.Second)}, 0, 0},
	}
	for _, tc := range tests {
		b, err := appendMessage(nil, &tc.m, reg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeMessage(b, reg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.Kind != tc.m.Kind || got.Session != tc.m.Session || got.Cmd != tc.m.Cmd {
			t.Fatalf("%s: got %+v", tc.name, got)
		}
		if tc.min == 0 && tc.max == 0 {
			if !got.Deadline.IsZero() {
				t.Fatalf("%s: deadline %v, want none", tc.name, got.Deadline)
			}
			continue
		}
		if left := time.Until(got.Deadline); left < tc.min || left > tc.max {
			t.Fatalf("%s: %v left, want %v..%v", tc.name, left, tc.min, tc.max)
		}
	}
	bad := []byte{byte(core.KindSend) | flagBudget, 1, 1, 1, 1, 1, 1, 0}
	if _, err := decodeMessage(bad, reg); err == nil {
		t.Fatal("a send with a budget flag decoded")
	}
}
