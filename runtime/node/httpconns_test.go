package node

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"
)

// TestConnCap: beyond its bound the listener closes its oldest
// connections, and a closed connection frees its place once.
func TestConnCap(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := newConnCap(inner, 3)
	defer ln.Close()
	dial := func() (client, server net.Conn) {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return c, s
	}
	closed := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return errors.Is(err, io.EOF) || (err != nil && (!errors.As(err, &ne) || !ne.Timeout()))
	}
	var clients, servers []net.Conn
	for range 5 {
		c, s := dial()
		clients, servers = append(clients, c), append(servers, s)
	}
	for i, want := range []bool{true, true, false, false, false} {
		if got := closed(clients[i]); got != want {
			t.Errorf("client %d closed = %v, want %v", i, got, want)
		}
	}
	if n := ln.open(); n != 3 {
		t.Fatalf("open = %d, want 3", n)
	}
	for _, s := range []net.Conn{servers[0], servers[3], servers[3]} { // evicted, then one closed twice
		_ = s.Close()
	}
	if n := ln.open(); n != 2 {
		t.Fatalf("open after closes = %d, want 2", n)
	}
	c, _ := dial()
	if closed(c) || closed(clients[4]) {
		t.Fatal("a connection under the bound was closed")
	}
	if n := ln.open(); n != 3 {
		t.Fatalf("open = %d, want 3", n)
	}
}
