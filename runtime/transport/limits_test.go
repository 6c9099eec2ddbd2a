package transport

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

func newTransportWith(t *testing.T, name string, h Handler, log logr.Logger, tune func(*Options)) *Transport {
	t.Helper()
	opts := Options{
		Self: Identity{Name: name}, Token: []byte("tok"), Handler: h, Log: log,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond, MaxFrame: 1 << 16,
	}
	if tune != nil {
		tune(&opts)
	}
	tr, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// dialAuthenticated opens a raw connection to addr and completes the
// handshake by hand, so the test controls every byte sent afterwards.
func dialAuthenticated(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	if _, err := dialHandshake(nc, hsConfig("raw", "tok", nil)); err != nil {
		t.Fatal(err)
	}
	return nc
}

// closedWithin reports whether the peer closes nc within d (reading and
// discarding keepalives).
func closedWithin(nc net.Conn, d time.Duration) bool {
	_ = nc.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, nc)
	var ne net.Error
	return err == nil || !errors.As(err, &ne) || !ne.Timeout()
}

func TestReadTimeouts(t *testing.T) {
	tests := []struct {
		name  string
		idle  time.Duration
		frame time.Duration
		send  []byte // sent after the handshake, then the client stalls
	}{
		{"idle link", 200 * time.Millisecond, 10 * time.Second, nil},
		{"half-sent header", 10 * time.Second, 200 * time.Millisecond, []byte{0xff, 0x00}},
		{"half-sent frame", 10 * time.Second, 200 * time.Millisecond, append(AppendFrame(nil, nil)[:0], 0x00, 0x10, 0x00, 0x00, 'a', 'b')},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log logBuf
			srv := newTransportWith(t, "srv", &recorder{}, log.logger(), func(o *Options) {
				o.IdleTimeout, o.FrameTimeout = tt.idle, tt.frame
			})
			nc := dialAuthenticated(t, listen(t, srv))
			if _, err := nc.Write(tt.send); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if !closedWithin(nc, 3*time.Second) {
				t.Fatal("stalled link not closed")
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("closed after %v", d)
			}
			eventually(t, "log", time.Second, func() bool { return strings.Contains(log.String(), "timeout") })
		})
	}
}

// TestKeepaliveHoldsIdleLink: two transports with a short idle timeout keep
// a link without traffic up, because each side sends keepalives.
func TestKeepaliveHoldsIdleLink(t *testing.T) {
	tune := func(o *Options) { o.IdleTimeout = time.Second } // keepalive every 333ms
	srvH := &recorder{}
	srv := newTransportWith(t, "srv", srvH, logr.Discard(), tune)
	cli := newTransportWith(t, "cli", &recorder{}, logr.Discard(), tune)
	p := cli.Peer(listen(t, srv))
	if err := p.Send([]byte("one")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "first frame", 5*time.Second, func() bool { return srvH.count() == 1 })
	conn := p.Conn()
	time.Sleep(3500 * time.Millisecond) // idle for more than 3 idle timeouts
	if p.Conn() != conn || conn == nil {
		t.Fatal("idle link was dropped despite keepalives")
	}
	if err := p.Send([]byte("two")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "second frame", 5*time.Second, func() bool { return srvH.count() == 2 })
	srvH.mu.Lock()
	defer srvH.mu.Unlock()
	if srvH.downs != 0 || len(srvH.ups) != 1 {
		t.Fatalf("ups %d downs %d: keepalives reached the handler or the link bounced", len(srvH.ups), srvH.downs)
	}
}

func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return nc
}

func TestPendingLimits(t *testing.T) {
	srv := newTransportWith(t, "srv", &recorder{}, logr.Discard(), func(o *Options) {
		o.MaxPending, o.MaxPendingPerAddr = 3, 2
		o.HandshakeTimeout = 10 * time.Second
	})
	addr := listen(t, srv)
	a1, a2 := dialFrom(t, "127.0.0.2", addr), dialFrom(t, "127.0.0.2", addr)
	eventually(t, "two pending", 2*time.Second, func() bool { return srv.Pending() == 2 })
	overAddr := dialFrom(t, "127.0.0.2", addr)
	if !closedWithin(overAddr, 2*time.Second) {
		t.Fatal("third connection from one address was kept")
	}
	b1 := dialFrom(t, "127.0.0.3", addr)
	eventually(t, "three pending", 2*time.Second, func() bool { return srv.Pending() == 3 })
	// A full table makes room: the oldest connection in handshake goes,
	// so held connections cannot lock real peers out.
	overAll := dialFrom(t, "127.0.0.4", addr)
	if !closedWithin(a1, 2*time.Second) {
		t.Fatal("the oldest connection in handshake was kept when the table was full")
	}
	eventually(t, "three pending again", 2*time.Second, func() bool { return srv.Pending() == 3 })
	eventually(t, "eviction counted", 2*time.Second, func() bool { return srv.Rejections()[RejectPendingLimit] == 1 })
	r := srv.Rejections()
	if r[RejectAddrLimit] != 1 || r[RejectPendingLimit] != 1 || r[RejectClosed] != 0 {
		t.Fatalf("rejections = %v", r)
	}
	// Slots free up when pending connections go away; a real peer gets in.
	for _, c := range []net.Conn{a2, b1, overAll} {
		_ = c.Close()
	}
	eventually(t, "slots freed", 2*time.Second, func() bool { return srv.Pending() == 0 })
	dialAuthenticated(t, addr)
}

// flakyListener fails Accept with EMFILE a number of times first.
type flakyListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
}

func (f *flakyListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	if f.fails > 0 {
		f.fails--
		f.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	f.mu.Unlock()
	return f.Listener.Accept()
}

func TestAcceptErrorsAreRetried(t *testing.T) {
	srvH := &recorder{}
	var log logBuf
	srv := newTransportWith(t, "srv", srvH, log.logger(), nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln, fails: 5}
	if _, err := srv.serveListener(fl); err != nil {
		t.Fatal(err)
	}
	eventually(t, "not ready while accept fails", 2*time.Second, func() bool { return errors.Is(srv.ListenErr(), syscall.EMFILE) })
	// Once Accept stops failing, the listener reports healthy even before
	// the next connection arrives.
	eventually(t, "ready once accept waits again", 5*time.Second, func() bool { return srv.ListenErr() == nil })
	cli := newTransportWith(t, "cli", &recorder{}, logr.Discard(), nil)
	if err := cli.Peer(ln.Addr().String()).Send([]byte("x")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "frame after accept errors", 5*time.Second, func() bool { return srvH.count() == 1 })
	if err := srv.ListenErr(); err != nil {
		t.Fatalf("ListenErr after recovery = %v", err)
	}
	if n := strings.Count(log.String(), "Accept failed"); n != 1 {
		t.Fatalf("accept failure logged %d times, want once per streak", n)
	}
	_ = srv.Close()
	if !errors.Is(srv.ListenErr(), ErrClosed) {
		eventually(t, "closed listener reported", time.Second, func() bool { return errors.Is(srv.ListenErr(), ErrClosed) })
	}
}

func TestRejectionLogsAreSampled(t *testing.T) {
	var log logBuf
	srv := newTransportWith(t, "srv", &recorder{}, log.logger(), func(o *Options) { o.RejectLogInterval = time.Hour })
	addr := listen(t, srv)
	const n = 20
	for range n {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = writeFrame(nc, append(initHeader(ProtocolVersion), make([]byte, 48)...)) // no token
		_, _ = io.Copy(io.Discard, nc)
		_ = nc.Close()
	}
	eventually(t, "all counted", 2*time.Second, func() bool { return srv.Rejections()[RejectAuth] == n })
	if lines := strings.Count(log.String(), "Rejected peer"); lines != 1 {
		t.Fatalf("%d rejection lines logged for %d rejections, want 1", lines, n)
	}
	if !strings.Contains(log.String(), "127.0.0.1:") {
		t.Fatalf("sample lacks the peer address: %s", log.String())
	}
}

// tap is a TCP proxy that keeps a copy of every byte sent through it.
type tap struct {
	ln    net.Listener
	mu    sync.Mutex
	buf   bytes.Buffer
	conns []net.Conn
	wg    sync.WaitGroup
}

func newTap(t *testing.T, target string) *tap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tp := &tap{ln: ln}
	tp.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			tp.mu.Lock()
			tp.conns = append(tp.conns, c, s)
			tp.mu.Unlock()
			pipe := func(dst, src net.Conn) {
				_, _ = io.Copy(io.MultiWriter(dst, tp), src)
				_ = dst.Close()
				_ = src.Close()
			}
			tp.wg.Go(func() { pipe(s, c) })
			tp.wg.Go(func() { pipe(c, s) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		tp.mu.Lock()
		for _, c := range tp.conns {
			_ = c.Close()
		}
		tp.mu.Unlock()
		tp.wg.Wait()
	})
	return tp
}

func (tp *tap) Write(b []byte) (int, error) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.buf.Write(b)
}

func (tp *tap) saw(s string) bool {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return bytes.Contains(tp.buf.Bytes(), []byte(s))
}

func TestEncryption(t *testing.T) {
	for _, encrypt := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[encrypt], func(t *testing.T) {
			srvH := &recorder{}
			srv := newTransportWith(t, "srv-name", srvH, logr.Discard(), func(o *Options) { o.MaxFrame = 1 << 20 })
			cli := newTransportWith(t, "cli-name", &recorder{}, logr.Discard(), func(o *Options) { o.Encrypt, o.MaxFrame = encrypt, 1<<20 })
			tp := newTap(t, listen(t, srv))
			p := cli.Peer(tp.ln.Addr().String())
			big := bytes.Repeat([]byte("0123456789"), 20000) // several records
			want := [][]byte{[]byte("secret-marker"), big, []byte("last")}
			for _, f := range want {
				if err := p.Send(f); err != nil {
					t.Fatal(err)
				}
			}
			eventually(t, "frames", 5*time.Second, func() bool { return srvH.count() == len(want) })
			srvH.mu.Lock()
			for i, f := range srvH.frames {
				if !bytes.Equal(f, want[i]) {
					t.Fatalf("frame %d differs", i)
				}
			}
			srvH.mu.Unlock()
			if tp.saw("srv-name") || tp.saw("cli-name") {
				t.Fatal("a node name crossed the wire in clear")
			}
			if got := tp.saw("secret-marker"); got == encrypt {
				t.Fatalf("payload visible on the wire = %v with Encrypt = %v", got, encrypt)
			}
		})
	}
}
