package transport

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

func flat(bufs net.Buffers) []byte { return bytes.Join(bufs, nil) }

func TestQueueOrderAndFront(t *testing.T) {
	q := newSendQueue(1<<20, 1<<16)
	for _, s := range []string{"a", "b"} {
		if err := q.push([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.pushFront([]byte("first")); err != nil {
		t.Fatal(err)
	}
	bufs, frames, closing := q.take(nil, nil)
	want := AppendFrame(AppendFrame(AppendFrame(nil, []byte("first")), []byte("a")), []byte("b"))
	if !bytes.Equal(flat(bufs), want) || frames != 3 || closing {
		t.Fatalf("got %q frames %d", flat(bufs), frames)
	}
	if q.len() != 0 {
		t.Fatal("queue not empty after take")
	}
}

func TestQueueRestStaysOnItsConnection(t *testing.T) {
	q := newSendQueue(1<<20, 1<<16)
	c1, c2 := &Conn{}, &Conn{}
	q.requeueRest(c1, net.Buffers{[]byte("tail-of-frame")})
	_ = q.push([]byte("x"))
	bufs, _, _ := q.take(c1, nil)
	if !bytes.HasPrefix(flat(bufs), []byte("tail-of-frame")) {
		t.Fatalf("rest not first on its connection: %q", flat(bufs))
	}
	q.requeueRest(c1, net.Buffers{[]byte("torn")})
	_ = q.push([]byte("y"))
	bufs, _, _ = q.take(c2, nil)
	if !bytes.Equal(flat(bufs), AppendFrame(nil, []byte("y"))) {
		t.Fatalf("torn frame written on another connection: %q", flat(bufs))
	}
}

func TestQueueLimits(t *testing.T) {
	q := newSendQueue(64, 16)
	if err := q.push(make([]byte, 17)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversize push: %v", err)
	}
	for q.push(make([]byte, 10)) == nil {
	}
	if err := q.push(make([]byte, 10)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("full push: %v", err)
	}
	q.close()
	if err := q.push([]byte("z")); !errors.Is(err, ErrClosed) {
		t.Fatalf("push after close: %v", err)
	}
	if _, _, closing := q.take(nil, nil); !closing {
		t.Fatal("take does not report closing")
	}
}

// TestInlineDueSpacesInlineWrites pins the rule that keeps a service
// answering a batch of calls from making one system call per reply: after
// an inline write, frames someone waits on go to the write loop (which
// batches them) until inlineGap has passed.
func TestInlineDueSpacesInlineWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		ago  time.Duration // when the last inline write began
		want bool
	}{
		{"idle link", 2 * inlineGap, true},
		{"an inline write is under way", -time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := newSendQueue(1<<20, 1<<16)
			q.lastInline.Store(int64(time.Since(q.born) - tc.ago))
			start := time.Now()
			got := q.inlineDue()
			again := q.inlineDue()
			took := time.Since(start)
			if got != tc.want {
				t.Fatalf("inlineDue = %v, want %v", got, tc.want)
			}
			if again && took < inlineGap {
				t.Fatalf("a second inline write %v after the first is allowed (gap %v)", took, inlineGap)
			}
		})
	}
}
