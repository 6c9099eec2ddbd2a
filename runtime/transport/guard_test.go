package transport

import (
	"net"
	"testing"
)

// fakeConn is a net.Conn that records Close.
type fakeConn struct {
	net.Conn
	name   string
	closed bool
}

func (f *fakeConn) Close() error { f.closed = true; return nil }

func (f *fakeConn) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.ParseIP(f.name), Port: 1} }

// TestAdmission drives the pending-handshake table: per-address caps
// refuse, a full table evicts its oldest connection, releases are
// idempotent and free the counts.
func TestAdmission(t *testing.T) {
	type step struct {
		admit   string // host to admit; "" to release
		release int    // index of the admitted slot to release
		want    string // refusal reason, or "evict:<i>" for the slot evicted, "" for admitted
		wantEv  bool   // on release: reported as evicted
	}
	tests := []struct {
		name  string
		max   int
		per   int
		steps []step
		left  int
	}{
		{"under the caps", 3, 2, []step{{admit: "a"}, {admit: "b"}, {admit: "a"}}, 3},
		{"per-address cap refuses, evicts nothing", 3, 2, []step{{admit: "a"}, {admit: "a"}, {admit: "a", want: RejectAddrLimit}}, 2},
		{"full table evicts the oldest", 2, 2, []step{{admit: "a"}, {admit: "b"}, {admit: "c", want: "evict:0"}}, 2},
		{"evictions go in age order", 2, 2, []step{
			{admit: "a"}, {admit: "b"}, {admit: "c", want: "evict:0"}, {admit: "d", want: "evict:1"}, {admit: "e", want: "evict:2"},
		}, 2},
		{"a released slot is not evicted", 2, 2, []step{
			{admit: "a"}, {admit: "b"}, {release: 0}, {admit: "c"}, {admit: "d", want: "evict:1"},
		}, 2},
		{"an evicted slot says so on release, once counted", 1, 1, []step{
			{admit: "a"}, {admit: "b", want: "evict:0"}, {release: 0, wantEv: true}, {release: 0, wantEv: true}, {admit: "c", want: "evict:1"},
		}, 1},
		{"eviction frees the address's count", 2, 1, []step{
			{admit: "a"}, {admit: "b"}, {admit: "c", want: "evict:0"}, {admit: "a", want: "evict:1"}, {admit: "a", want: RejectAddrLimit},
		}, 2},
		{"releasing twice frees once", 3, 3, []step{{admit: "a"}, {admit: "a"}, {release: 0}, {release: 0}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &admission{perAddr: map[string]int{}, maxPending: tt.max, maxPerAddr: tt.per}
			var slots []*slot
			var conns []*fakeConn
			for i, st := range tt.steps {
				if st.admit == "" {
					if ev := a.release(slots[st.release]); ev != st.wantEv {
						t.Fatalf("step %d: release evicted = %v, want %v", i, ev, st.wantEv)
					}
					continue
				}
				nc := &fakeConn{name: "127.0.0." + string(rune('1'+len(conns)))}
				s, evicted, reason := a.admit(st.admit, nc)
				switch {
				case st.want == RejectAddrLimit || st.want == RejectPendingLimit:
					if reason != st.want || s != nil {
						t.Fatalf("step %d: admit = %v, %q; want refusal %q", i, s, reason, st.want)
					}
					continue
				case reason != "":
					t.Fatalf("step %d: refused %q", i, reason)
				}
				want := -1
				if len(st.want) > 6 && st.want[:6] == "evict:" {
					want = int(st.want[6] - '0')
				}
				if (evicted != "") != (want >= 0) {
					t.Fatalf("step %d: evicted %q, want slot %d", i, evicted, want)
				}
				if want >= 0 {
					if !conns[want].closed || evicted != conns[want].RemoteAddr().String() {
						t.Fatalf("step %d: evicted %q (closed %v), want %s", i, evicted, conns[want].closed, conns[want].RemoteAddr())
					}
				}
				slots, conns = append(slots, s), append(conns, nc)
			}
			if got := a.Pending(); got != tt.left {
				t.Fatalf("pending = %d, want %d", got, tt.left)
			}
			n := 0
			for _, c := range a.perAddr {
				n += c
			}
			if n != tt.left {
				t.Fatalf("per-address counts sum to %d, want %d (%v)", n, tt.left, a.perAddr)
			}
		})
	}
}
