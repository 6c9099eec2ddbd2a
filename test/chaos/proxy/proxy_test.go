package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"
)

// echoServer answers every byte back on loopback until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer c.Close(); _, _ = io.Copy(c, c) })
		}
	})
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

func startProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := New("127.0.0.1:0", target, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return p
}

// roundTrip writes msg through the proxy and reads it back, timing it.
func roundTrip(t *testing.T, c net.Conn, msg []byte) time.Duration {
	t.Helper()
	start := time.Now()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %q, want %q", got, msg)
	}
	return time.Since(start)
}

func TestProxy(t *testing.T) {
	hold := Fault{Prob: 1, HoldMin: 150 * time.Millisecond, HoldMax: 151 * time.Millisecond}
	tests := []struct {
		name     string
		dir      Dir
		fault    Fault
		min, max time.Duration
	}{
		{"clean", In, Fault{}, 0, 100 * time.Millisecond},
		{"held in", In, hold, 150 * time.Millisecond, time.Second},
		{"held out", Out, hold, 150 * time.Millisecond, time.Second},
	}
	target := echoServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startProxy(t, target)
			p.SetFault(tt.dir, tt.fault)
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := range 3 {
				d := roundTrip(t, c, []byte{'a' + byte(i), 'b', 'c'})
				if d < tt.min || d > tt.max {
					t.Fatalf("round trip %d took %v, want [%v, %v]", i, d, tt.min, tt.max)
				}
			}
			if got := p.Held(tt.dir); (tt.fault.Prob > 0) != (got > 0) {
				t.Fatalf("held %d chunks in %v with fault %+v", got, tt.dir, tt.fault)
			}
			p.Clear()
			if d := roundTrip(t, c, []byte("after")); d > 100*time.Millisecond {
				t.Fatalf("after Clear a round trip took %v", d)
			}
		})
	}
}

func TestProxyCloseAllAndNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	target := echoServer(t)
	func() {
		p, err := New("127.0.0.1:0", target, 2)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		roundTrip(t, c, []byte("x"))
		p.CloseAll()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("read after CloseAll succeeded")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before+2 { // +2: the echo server's accept loop and its conn
		if time.Now().After(deadline) {
			t.Fatalf("goroutines: %d before, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
