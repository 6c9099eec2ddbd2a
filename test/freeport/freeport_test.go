package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestAddrUniqueAndOutsideEphemeralRange(t *testing.T) {
	low := ephemeralLow()
	seen := map[string]bool{}
	for range 200 {
		a := Addr(t)
		if seen[a] {
			t.Fatalf("%s handed out twice", a)
		}
		seen[a] = true
		_, ps, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(ps)
		if p < 1024 || p >= low {
			t.Fatalf("port %d outside [1024, %d)", p, low)
		}
	}
}

func TestAddrSkipsHeldPorts(t *testing.T) {
	// Hold the port the allocator would try next: it must move past it.
	a := &ports{given: map[int]bool{}, lo: lowestPort, hi: ephemeralLow()}
	var held net.Listener
	for p := a.lo; p < a.hi; p++ {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err == nil {
			held, a.next = ln, p
			break
		}
	}
	if held == nil {
		t.Skip("no port to hold")
	}
	defer held.Close()
	heldPort := held.Addr().(*net.TCPAddr).Port
	got, err := a.take()
	if err != nil {
		t.Fatal(err)
	}
	if got == heldPort {
		t.Fatalf("took port %d while it was held", got)
	}
}
