package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// recorder is a Handler that keeps what it sees.
type recorder struct {
	mu     sync.Mutex
	frames [][]byte
	ups    []*Conn
	downs  int
	onUp   func(c *Conn)
	stall  chan struct{} // if set, the first frame waits for it to close
}

func (r *recorder) HandleFrame(_ *Conn, p []byte) {
	if r.stall != nil && r.count() == 0 {
		<-r.stall
	}
	r.mu.Lock()
	r.frames = append(r.frames, bytes.Clone(p))
	r.mu.Unlock()
}

func (r *recorder) ConnUp(c *Conn) {
	r.mu.Lock()
	r.ups = append(r.ups, c)
	f := r.onUp
	r.mu.Unlock()
	if f != nil {
		f(c)
	}
}

func (r *recorder) ConnDown(*Conn, error) {
	r.mu.Lock()
	r.downs++
	r.mu.Unlock()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.frames)
}

// logBuf is a concurrency-safe log sink for asserting on log lines.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		fmt.Fprintln(&l.b, prefix, args)
		l.mu.Unlock()
	}, funcr.Options{Verbosity: 1})
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func newTestTransport(t *testing.T, name, token string, h Handler, log logr.Logger) *Transport {
	t.Helper()
	tr, err := New(Options{
		Self: Identity{Name: name}, Token: []byte(token), Handler: h, Log: log,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, MaxFrame: 1 << 16,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

func listen(t *testing.T, tr *Transport) string {
	t.Helper()
	a, err := tr.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return a.String()
}

func TestSendReceiveInOrder(t *testing.T) {
	srvH, cliH := &recorder{}, &recorder{}
	srv := newTestTransport(t, "srv", "tok", srvH, logr.Discard())
	cli := newTestTransport(t, "cli", "tok", cliH, logr.Discard())
	addr := listen(t, srv)
	p := cli.Peer(addr)
	const n = 10000
	for i := range n {
		for {
			err := p.Send(fmt.Appendf(nil, "m%d", i))
			if err == nil {
				break
			}
			if !errors.Is(err, ErrQueueFull) {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
	}
	eventually(t, "all frames", 5*time.Second, func() bool { return srvH.count() == n })
	srvH.mu.Lock()
	for i, f := range srvH.frames {
		if string(f) != fmt.Sprintf("m%d", i) {
			t.Fatalf("frame %d = %q", i, f)
		}
	}
	remote := srvH.ups[0].Remote()
	srvH.mu.Unlock()
	if remote.Name != "cli" {
		t.Fatalf("remote identity %+v", remote)
	}
	if got := p.Stats().FramesOut.Load(); got != n {
		t.Fatalf("FramesOut = %d", got)
	}
	// Reply over the accepted connection.
	if err := srv.Inbound()[0].Send([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "reply", 5*time.Second, func() bool { return cliH.count() == 1 })
}

func TestQueueFull(t *testing.T) {
	tr := newTestTransport(t, "a", "tok", &recorder{}, logr.Discard())
	tr.opts.QueueBytes = 100
	p := tr.Peer("127.0.0.1:1") // nothing listens: frames stay queued
	var err error
	for range 100 {
		if err = p.Send(make([]byte, 10)); err != nil {
			break
		}
	}
	if !errors.Is(err, ErrQueueFull) {
		t.Fatalf("err = %v, want ErrQueueFull", err)
	}
}

func TestRejects(t *testing.T) {
	tests := []struct {
		name      string
		cliToken  string
		wantLog   string
		wantError error
	}{
		{"wrong token", "bad", "Rejected peer", ErrRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srvLog, cliLog logBuf
			srvH := &recorder{}
			srv := newTestTransport(t, "srv", "tok", srvH, srvLog.logger())
			cli := newTestTransport(t, "cli", tt.cliToken, &recorder{}, cliLog.logger())
			addr := listen(t, srv)
			_ = cli.Peer(addr).Send([]byte("x"))
			eventually(t, "server log", 5*time.Second, func() bool { return strings.Contains(srvLog.String(), tt.wantLog) })
			eventually(t, "client log", 5*time.Second, func() bool { return strings.Contains(cliLog.String(), "Handshake failed") })
			if !strings.Contains(srvLog.String(), "127.0.0.1:") {
				t.Fatalf("server log lacks peer address: %s", srvLog.String())
			}
			if srvH.count() != 0 || len(srvH.ups) != 0 {
				t.Fatal("rejected peer delivered something")
			}
		})
	}
}

func TestWrongVersionRejected(t *testing.T) {
	var srvLog logBuf
	srv := newTestTransport(t, "srv", "tok", &recorder{}, srvLog.logger())
	addr := listen(t, srv)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := writeFrame(nc, append(initHeader(99), make([]byte, 48)...)); err != nil {
		t.Fatal(err)
	}
	v, err := readFrame(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := expect(v, hsResp); !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "version") {
		t.Fatalf("verdict = %v", err)
	}
	eventually(t, "log", 5*time.Second, func() bool { return strings.Contains(srvLog.String(), "version mismatch") })
	if local := nc.LocalAddr().String(); !strings.Contains(srvLog.String(), local) {
		t.Fatalf("rejection logged without the peer address %s: %s", local, srvLog.String())
	}
	if got := srv.Rejections()[RejectVersion]; got != 1 {
		t.Fatalf("version rejections = %d", got)
	}
}

func TestOversizeFrameDisconnects(t *testing.T) {
	var srvLog logBuf
	srvH := &recorder{}
	srv := newTestTransport(t, "srv", "tok", srvH, srvLog.logger())
	cli := newTestTransport(t, "cli", "tok", &recorder{}, logr.Discard())
	addr := listen(t, srv)
	p := cli.Peer(addr)
	cli.opts.MaxFrame = 1 << 20 // the sender allows more than the receiver
	p.q.max = 1 << 20
	if err := p.Send(make([]byte, 1<<17)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "disconnect log", 5*time.Second, func() bool { return strings.Contains(srvLog.String(), "frame too large") })
	if srvH.count() != 0 {
		t.Fatal("oversize frame delivered")
	}
}

func TestRedialAfterServerRestart(t *testing.T) {
	srvH := &recorder{}
	srv := newTestTransport(t, "srv", "tok", srvH, logr.Discard())
	cli := newTestTransport(t, "cli", "tok", &recorder{}, logr.Discard())
	addr := listen(t, srv)
	p := cli.Peer(addr)
	_ = p.Send([]byte("one"))
	eventually(t, "first frame", 5*time.Second, func() bool { return srvH.count() == 1 })
	_ = srv.Close()
	eventually(t, "disconnect", 5*time.Second, func() bool { return p.Conn() == nil })

	srv2H := &recorder{}
	srv2 := newTestTransport(t, "srv", "tok", srv2H, logr.Discard())
	if _, err := srv2.Listen(addr); err != nil {
		t.Fatal(err)
	}
	cliH := p.t.opts.Handler.(*recorder)
	cliH.mu.Lock()
	cliH.onUp = func(c *Conn) { _ = c.SendFirst([]byte("hello-again")) }
	cliH.mu.Unlock()
	_ = p.Send([]byte("two"))
	eventually(t, "frames after redial", 5*time.Second, func() bool { return srv2H.count() == 2 })
	srv2H.mu.Lock()
	defer srv2H.mu.Unlock()
	if string(srv2H.frames[0]) != "hello-again" || string(srv2H.frames[1]) != "two" {
		t.Fatalf("frames = %q", srv2H.frames)
	}
}

func TestShutdownDrains(t *testing.T) {
	srvH := &recorder{}
	srv := newTestTransport(t, "srv", "tok", srvH, logr.Discard())
	cli := newTestTransport(t, "cli", "tok", &recorder{}, logr.Discard())
	addr := listen(t, srv)
	p := cli.Peer(addr)
	for i := range 1000 {
		if err := p.Send(fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := cli.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	eventually(t, "drained frames", 5*time.Second, func() bool { return srvH.count() == 1000 })
	if err := p.Send([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after shutdown: %v", err)
	}
}

func TestCloseDuringHandshake(t *testing.T) {
	srv := newTestTransport(t, "srv", "tok", &recorder{}, logr.Discard())
	addr := listen(t, srv)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	start := time.Now()
	_ = srv.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close waited %v for a stalled handshake", d)
	}
}

// TestInlineWriteHandsOverWhenPeerIsSlow fills the socket so inline writes
// time out part-way: every frame must still arrive whole and in order.
func TestInlineWriteHandsOverWhenPeerIsSlow(t *testing.T) {
	srvH := &recorder{stall: make(chan struct{})}
	srv := newTestTransport(t, "srv", "tok", srvH, logr.Discard())
	cli := newTestTransport(t, "cli", "tok", &recorder{}, logr.Discard())
	cli.opts.QueueBytes = 64 << 20
	time.AfterFunc(300*time.Millisecond, func() { close(srvH.stall) }) // the reader stalls, sockets fill
	addr := listen(t, srv)
	p := cli.Peer(addr)
	p.q.limit = 64 << 20
	payload := bytes.Repeat([]byte{'z'}, 60000)
	const n = 400 // 24 MB: far more than the socket buffers
	for i := range n {
		b := append(fmt.Appendf(nil, "%05d", i), payload...)
		if err := p.Send(b); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "all frames", 10*time.Second, func() bool { return srvH.count() == n })
	srvH.mu.Lock()
	defer srvH.mu.Unlock()
	for i, f := range srvH.frames {
		if string(f[:5]) != fmt.Sprintf("%05d", i) || len(f) != 5+len(payload) {
			t.Fatalf("frame %d corrupt", i)
		}
	}
}
