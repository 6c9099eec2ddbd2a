// Package natstest runs a real NATS server in the test process
// (github.com/nats-io/nats-server/v2/server) on a loopback port that
// survives Restart, for tests and benchmarks.
package natstest

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an embedded NATS server.
type Server struct {
	opts server.Options
	mu   sync.Mutex
	srv  *server.Server
}

// Start runs a NATS server on 127.0.0.1 and a random port; it is shut down
// at cleanup. token, if set, is required from clients.
func Start(tb testing.TB, token string) *Server {
	tb.Helper()
	s := &Server{opts: server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, NoLog: true, NoSigs: true,
		Authorization: token, MaxPayload: 1 << 20}}
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}
	s.opts.Port = s.srv.Addr().(*net.TCPAddr).Port
	tb.Cleanup(s.Stop)
	return s
}

// URL is the client URL.
func (s *Server) URL() string {
	return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port)
}

// Start (re)starts the server on the same port and waits until it accepts
// clients.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	opts := s.opts
	srv, err := server.NewServer(&opts)
	if err != nil {
		return fmt.Errorf("creating NATS server: %w", err)
	}
	go srv.Start() // stopped by Stop (Shutdown waits for its goroutines)
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		return errors.New("NATS server not ready within 10s")
	}
	s.srv = srv
	return nil
}

// Stop shuts the server down; clients see their connection drop. It is
// idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return
	}
	s.srv.Shutdown()
	s.srv.WaitForShutdown()
	s.srv = nil
}

// InMsgs returns the messages the server has received from clients so far
// (0 while it is stopped): a test waits on it to know a publish reached the
// server.
func (s *Server) InMsgs() int64 {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return 0
	}
	v, err := srv.Varz(nil)
	if err != nil {
		return 0
	}
	return v.InMsgs
}
