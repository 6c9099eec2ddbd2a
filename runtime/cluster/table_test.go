package cluster

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// state returns how n lists the node called name: "up", "down" or "" (not
// listed at all).
func (n *testNode) state(name string) string {
	for _, e := range n.cl.Nodes() {
		if e.Name == name {
			if e.Up {
				return "up"
			}
			return "down"
		}
	}
	return ""
}

// TestNodeTableCleanup: a node that leaves gracefully disappears from every
// node table; one that dies is listed down, then removed after the
// retention.
func TestNodeTableCleanup(t *testing.T) {
	const retain = 300 * time.Millisecond
	m := startNode(t, contract.RoleMaster, "m", "127.0.0.1:0", "", func(o *Options) { o.DownRetention = retain })
	a := startNode(t, contract.RoleSlave, "a", "127.0.0.1:0", m.cl.Addr())
	b := startNode(t, contract.RoleSlave, "b", "127.0.0.1:0", m.cl.Addr())
	c := startNode(t, contract.RoleSlave, "c", "127.0.0.1:0", m.cl.Addr())
	for _, n := range []*testNode{m, a, b, c} {
		eventually(t, n.cl.Name()+" sees 4 nodes", 2*time.Second, func() bool { return len(n.upNodes()) == 4 })
	}

	t.Run("graceful leave removes", func(t *testing.T) {
		b.stop()
		for _, n := range []*testNode{m, a, c} {
			eventually(t, n.cl.Name()+" forgets b", 2*time.Second, func() bool { return n.state("b") == "" })
			if v := n.cl.View(); len(v.Nodes) != 3 {
				t.Fatalf("%s view %+v", n.cl.Name(), v.Nodes)
			}
		}
	})

	t.Run("death shows down then removes", func(t *testing.T) {
		c.crash()
		for _, n := range []*testNode{m, a} {
			eventually(t, n.cl.Name()+" sees c down", 2*time.Second, func() bool { return n.state("c") == "down" })
		}
		for _, n := range []*testNode{m, a} {
			eventually(t, n.cl.Name()+" removes c", 3*time.Second, func() bool { return n.state("c") == "" })
		}
	})
}

// TestDecodedSizes pins the struct sizes decodedSize counts with.
func TestDecodedSizes(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  uintptr
		want int
	}{
		{"Control", reflect.TypeFor[Control]().Size(), controlStructSize},
		{"NodeEntry", reflect.TypeFor[NodeEntry]().Size(), nodeEntryStructSize},
		{"NameEntry", reflect.TypeFor[NameEntry]().Size(), nameEntryStructSize},
	} {
		if reflect.TypeFor[uintptr]().Size() == 8 && int(tc.got) != tc.want {
			t.Errorf("%s is %d bytes, decodedSize counts %d", tc.name, tc.got, tc.want)
		}
	}
}

// TestAssemblerBoundsMemory: a paged message that never ends, followed by
// pages of empty names or by large held messages, is dropped once its
// decoded size passes maxTableBytes, however few wire bytes it took.
func TestAssemblerBoundsMemory(t *testing.T) {
	for _, tc := range []struct {
		name string
		next func() *Control
	}{
		{"pages of empty names", func() *Control { return &Control{Type: CtlMore, More: true, Names: make([]NameEntry, 1<<18)} }},
		{"held messages with many nodes", func() *Control { return &Control{Type: CtlHeartbeat, Nodes: make([]NodeEntry, 1<<16)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a assembler
			if _, err := a.add(&Control{Type: CtlRegister, More: true}); err != nil {
				t.Fatal(err)
			}
			for i := range 60 {
				if _, err := a.add(tc.next()); err != nil {
					if !errors.Is(err, ErrBadFrame) {
						t.Fatalf("error %v, want ErrBadFrame", err)
					}
					if a.msg != nil || a.held != nil {
						t.Fatal("assembler not reset after refusing")
					}
					t.Logf("refused after %d messages", i+1)
					return
				}
				if a.bytes > maxTableBytes {
					t.Fatalf("holding %d bytes, bound %d", a.bytes, maxTableBytes)
				}
			}
			t.Fatal("60 messages held behind an unfinished paged message")
		})
	}
}
