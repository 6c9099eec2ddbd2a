package freeport

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// lowestPort is the bottom of the range Addr uses; below it sit well-known and
// registered services a developer may run.
const lowestPort = 10000

// defaultEphemeralLow is Linux's default start of the ephemeral range, used
// when /proc does not say.
const defaultEphemeralLow = 32768

// allocator is the test binary's one allocator: uniqueness must hold across
// every test of the binary, so it cannot live in a test's scope.
var allocator = &ports{given: map[int]bool{}}

type ports struct {
	mu     sync.Mutex
	given  map[int]bool
	lo, hi int // [lo, hi) is the range walked
	next   int
}

// Addr returns "127.0.0.1:<port>" for a port no listener holds now, outside
// the ephemeral range, not returned before in this process. It fails the test
// when the range is exhausted.
func Addr(tb testing.TB) string {
	tb.Helper()
	p, err := allocator.take()
	if err != nil {
		tb.Fatal(err)
	}
	return "127.0.0.1:" + strconv.Itoa(p)
}

func (a *ports) take() (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hi == 0 {
		a.lo, a.hi = lowestPort, ephemeralLow()
		if a.hi-a.lo < 1000 { // a machine with a huge ephemeral range: share the low end
			a.lo, a.hi = 1024, max(a.hi, 2048)
		}
		a.next = a.lo + (os.Getpid()*7919)%(a.hi-a.lo)
	}
	size := a.hi - a.lo
	for range size {
		p := a.next
		a.next++
		if a.next >= a.hi {
			a.next = a.lo
		}
		if a.given[p] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue // held by someone else
		}
		_ = ln.Close()
		a.given[p] = true
		return p, nil
	}
	return 0, fmt.Errorf("freeport: no free loopback port in [%d, %d)", a.lo, a.hi)
}

// ephemeralLow reads the start of the kernel's ephemeral port range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return defaultEphemeralLow
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return defaultEphemeralLow
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n <= 1024 {
		return defaultEphemeralLow
	}
	return n
}
