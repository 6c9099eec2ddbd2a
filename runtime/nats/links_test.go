package nats_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/nats"
	"github.com/lotou-io/lotou/runtime/nats/natstest"
	"github.com/lotou-io/lotou/runtime/transport"
)

// bytesEnc encodes a []byte payload as is.
type bytesEnc struct{}

func (bytesEnc) EncodePayload(b []byte, v any) ([]byte, error) { return append(b, v.([]byte)...), nil }

// sink records what a Links backend delivers.
type sink struct {
	mu     sync.Mutex
	frames []string
	lost   []error
	block  chan struct{} // if set, Frame waits on it
}

func (s *sink) Frame(p []byte) {
	if s.block != nil {
		<-s.block
	}
	s.mu.Lock()
	s.frames = append(s.frames, string(p))
	s.mu.Unlock()
}

func (s *sink) Lost(err error) {
	s.mu.Lock()
	s.lost = append(s.lost, err)
	s.mu.Unlock()
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.frames)
}

func start(t *testing.T, srv *natstest.Server, id uint16, in cluster.LinkInput, mod func(*nats.Options)) *nats.Links {
	t.Helper()
	o := nats.Options{URL: srv.URL(), Prefix: "test", Token: "tok", ReconnectWait: 20 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	l, err := nats.New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Start(id, in); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	return l
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    nats.Options
	}{
		{"no URL", nats.Options{Prefix: "p"}},
		{"no prefix", nats.Options{URL: "nats://127.0.0.1:1"}},
		{"two auth methods", nats.Options{URL: "nats://127.0.0.1:1", Prefix: "p", Token: "t", CredsFile: "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := nats.New(tc.o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

// TestFramesInOrderAndBatched sends many one-way frames: all arrive, in
// order, and fewer publishes than frames carried them.
func TestFramesInOrderAndBatched(t *testing.T) {
	srv := natstest.Start(t, "tok")
	recv := &sink{}
	start(t, srv, 2, recv, nil)
	a := start(t, srv, 1, &sink{}, nil)
	to, err := a.To(2)
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	want := make([]string, n)
	for i := range n {
		want[i] = string(rune('a'+i%26)) + string(make([]byte, i%40))
		if err := to.Encode(bytesEnc{}, []byte(want[i])); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every frame", func() bool { return recv.count() == n })
	recv.mu.Lock()
	for i := range n {
		if recv.frames[i] != want[i] {
			recv.mu.Unlock()
			t.Fatalf("frame %d: %q, want %q", i, recv.frames[i], want[i])
		}
	}
	recv.mu.Unlock()
	st := a.Stats()
	if st.Frames.Load() != n || st.Published.Load() >= n {
		t.Fatalf("%d frames in %d publishes: no batching", st.Frames.Load(), st.Published.Load())
	}
	t.Logf("%d frames in %d publishes", st.Frames.Load(), st.Published.Load())
}

// TestLargeBatchSplitsAtFrames queues more than the server's maximum payload:
// the batch is split at frame boundaries, nothing is lost.
func TestLargeBatchSplitsAtFrames(t *testing.T) {
	srv := natstest.Start(t, "tok")
	recv := &sink{}
	start(t, srv, 2, recv, nil)
	a := start(t, srv, 1, &sink{}, nil)
	to, _ := a.To(2)
	big := make([]byte, 300<<10)
	for range 8 { // 2.4 MB queued at once; the server takes 1 MB per message
		if err := to.Encode(bytesEnc{}, big); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "8 large frames", func() bool { return recv.count() == 8 })
	if tooBig := to.Encode(bytesEnc{}, make([]byte, transport.DefaultMaxFrame+1)); !errors.Is(tooBig, transport.ErrFrameTooLarge) {
		t.Fatalf("oversized frame: %v", tooBig)
	}
}

// TestSlowConsumerCounted makes this node's subscription fall behind: the
// dropped messages are counted as slow-consumer events, not lost silently.
func TestSlowConsumerCounted(t *testing.T) {
	srv := natstest.Start(t, "tok")
	recv := &sink{block: make(chan struct{})}
	b := start(t, srv, 2, recv, func(o *nats.Options) { o.PendingMessages = 4 })
	a := start(t, srv, 1, &sink{}, nil)
	to, _ := a.To(2)
	if err := to.EncodeNow(bytesEnc{}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	// Once b's subscription is confirmed, each EncodeNow on the idle link is
	// one publish.
	waitFor(t, "the first frame published", func() bool { return a.Stats().Published.Load() > 0 })
	for range 200 {
		if err := to.EncodeNow(bytesEnc{}, []byte("x")); err != nil { // one publish each
			t.Fatal(err)
		}
	}
	waitFor(t, "a slow-consumer event", func() bool { return b.Stats().SlowConsumers.Load() > 0 })
	close(recv.block)
}

// TestOutageFailsFastAndRecovers stops the server: sends fail at once with
// ErrBackendDown, the input is told the link was lost, and after a restart
// frames flow again.
func TestOutageFailsFastAndRecovers(t *testing.T) {
	srv := natstest.Start(t, "tok")
	recv := &sink{}
	start(t, srv, 2, recv, nil)
	aIn := &sink{}
	a := start(t, srv, 1, aIn, nil)
	to, _ := a.To(2)
	srv.Stop()
	waitFor(t, "disconnect noticed", func() bool { return !a.Connected() })
	if err := to.EncodeNow(bytesEnc{}, []byte("lost")); !errors.Is(err, cluster.ErrBackendDown) {
		t.Fatalf("send while NATS is down: %v", err)
	}
	waitFor(t, "the cluster told the link was lost", func() bool { // nats.go calls back on its own goroutine
		aIn.mu.Lock()
		defer aIn.mu.Unlock()
		return len(aIn.lost) > 0
	})
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "frames flow again", func() bool {
		_ = to.EncodeNow(bytesEnc{}, []byte("again"))
		return recv.count() > 0
	})
}

// TestFramesBeforeSubscriptionHeld: frames to a node that is announced but
// has not subscribed yet (it is starting) are held until its subscription
// answers, then delivered in order: NATS would have dropped them.
func TestFramesBeforeSubscriptionHeld(t *testing.T) {
	srv := natstest.Start(t, "tok")
	a := start(t, srv, 1, &sink{}, nil)
	to, err := a.To(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"early-1", "early-2"} {
		if err := to.EncodeNow(bytesEnc{}, []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := to.Encode(bytesEnc{}, []byte("early-3")); err != nil {
		t.Fatal(err)
	}
	recv := &sink{}
	start(t, srv, 2, recv, nil) // node 2 subscribes only now
	if err := to.Encode(bytesEnc{}, []byte("late")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every frame", func() bool { return recv.count() == 4 })
	recv.mu.Lock()
	defer recv.mu.Unlock()
	for i, want := range []string{"early-1", "early-2", "early-3", "late"} {
		if recv.frames[i] != want {
			t.Fatalf("frame %d: %q, want %q (all: %q)", i, recv.frames[i], want, recv.frames)
		}
	}
}
