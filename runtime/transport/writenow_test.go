package transport

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// TestInlineNowWriteKeepsFramesWhole sends with EncodeNow (a sender's own
// non-blocking write when the link is idle) while the peer's reader stalls,
// so the socket fills and writes are cut part-way through frames: what the
// socket does not take must go to the write loop, and every frame arrive
// whole and in order.
func TestInlineNowWriteKeepsFramesWhole(t *testing.T) {
	srvH := &recorder{stall: make(chan struct{})}
	srv := newTestTransport(t, "srv", "tok", srvH, logr.Discard())
	cli := newTestTransport(t, "cli", "tok", &recorder{}, logr.Discard())
	cli.opts.QueueBytes = 64 << 20
	time.AfterFunc(300*time.Millisecond, func() { close(srvH.stall) })
	addr := listen(t, srv)
	p := cli.Peer(addr)
	p.q.limit = 64 << 20
	payload := bytes.Repeat([]byte{'y'}, 30000)
	const n = 600 // 18 MB: far more than the socket buffers
	for i := range n {
		b := append(fmt.Appendf(nil, "%05d", i), payload...)
		if err := p.EncodeNow(bytesEncoder{}, b); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 {
			time.Sleep(time.Millisecond) // let the queue drain now and then, so later frames go inline again
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
