package gatebench

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/gate"
	"github.com/lotou-io/lotou/runtime/gate/client"
)

// server is one of the three servers under test, listening on loopback.
type server struct {
	addr string
	stop func()
}

func lotouGate(b *testing.B) server {
	k, err := core.New(core.Options{Node: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if _, err := gate.StartEcho(ctx, k); err != nil {
		b.Fatal(err)
	}
	g, err := gate.New(gate.Options{Addr: "127.0.0.1:0", Service: gate.EchoService, Auth: gate.NameAuth, Rate: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := g.Listen(); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, k) }()
	return server{addr: g.Addr().String(), stop: func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
		_ = k.Stop(context.Background())
	}}
}

func tcpEcho(b *testing.B) server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ServeTCP(ln) }()
	return server{addr: ln.Addr().String(), stop: func() {
		_ = ln.Close()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}}
}

func wsEcho(b *testing.B) server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(gate.PathWebSocket, WSHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(done) }()
	return server{addr: ln.Addr().String(), stop: func() { _ = srv.Close(); <-done }}
}

// roundTrips runs b.N calls of a 32-byte payload spread over clients.
func roundTrips(b *testing.B, s server, ws bool, clients int) {
	defer s.stop()
	ctx := context.Background()
	cs := make([]*client.Client, clients)
	for i := range cs {
		c, err := client.Dial(ctx, s.addr, client.Options{WebSocket: ws, Credentials: []byte("bench")})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = c.Close() }()
		cs[i] = c
	}
	payload := make([]byte, 32)
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + clients - 1) / clients
	for _, c := range cs {
		wg.Go(func() {
			for range per {
				if _, err := c.Call(ctx, "echo", payload); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(per*clients)/b.Elapsed().Seconds(), "msg/s")
}

func BenchmarkRoundTrip(b *testing.B) {
	servers := []struct {
		name  string
		start func(*testing.B) server
		ws    bool
	}{
		{"lotou-gate-tcp", lotouGate, false},
		{"raw-tcp-echo", tcpEcho, false},
		{"lotou-gate-ws", lotouGate, true},
		{"coder-ws-echo", wsEcho, true},
	}
	for _, clients := range []int{1, 64} {
		for _, s := range servers {
			b.Run(s.name+"/clients="+itoa(clients), func(b *testing.B) { roundTrips(b, s.start(b), s.ws, clients) })
		}
	}
}

func itoa(n int) string {
	if n == 1 {
		return "1"
	}
	return "64"
}
