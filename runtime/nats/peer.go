package nats

import (
	"encoding/binary"
	"fmt"
	"sync"

	natsgo "github.com/nats-io/nats.go"

	"github.com/lotou-io/lotou/runtime/transport"
)

// peer queues the frames for one node. Frames are appended to buf; the
// flusher (or, for a call on an idle link, the caller) publishes buf as one
// NATS message, split at frame boundaries if it exceeds the server's
// maximum payload.
type peer struct {
	l    *Links
	subj string

	mu     sync.Mutex
	buf    []byte
	spare  []byte
	frames uint64
	queued bool // scheduled with the flusher
	// confirmed: the node's subscription answered a probe (probe.go).
	// Until then frames wait in buf: NATS drops what nobody subscribes to.
	confirmed bool
	probing   bool
}

// Encode implements cluster.LinkSender.
func (p *peer) Encode(enc transport.Encoder, v any) error { return p.encode(enc, v, false) }

// EncodeNow implements cluster.LinkSender: on an idle link the frame is
// published by the calling goroutine.
func (p *peer) EncodeNow(enc transport.Encoder, v any) error { return p.encode(enc, v, true) }

func (p *peer) encode(enc transport.Encoder, v any, now bool) error {
	nc := p.l.conn()
	if nc == nil || !nc.IsConnected() {
		return p.l.notConnected()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.buf) >= p.l.opts.QueueBytes {
		return fmt.Errorf("nats %s: %d bytes waiting: %w", p.subj, len(p.buf), transport.ErrQueueFull)
	}
	start := len(p.buf)
	b, err := enc.EncodePayload(append(p.buf, 0, 0, 0, 0), v)
	if err != nil {
		p.buf = p.buf[:start]
		return err
	}
	size := len(b) - start - transport.HeaderSize
	if size > p.l.opts.MaxFrame {
		p.buf = b[:start]
		return fmt.Errorf("nats %s: %d-byte payload: %w", p.subj, size, transport.ErrFrameTooLarge)
	}
	binary.LittleEndian.PutUint32(b[start:], uint32(size))
	p.buf = b
	p.frames++
	if !p.confirmed {
		return nil // held until the node's subscription answers (confirm)
	}
	if now && start == 0 && !p.queued {
		return p.publishLocked(nc)
	}
	if !p.queued {
		p.queued = true
		p.l.schedule(p)
	}
	return nil
}

// flush publishes what is queued (flusher goroutine).
func (p *peer) flush(nc *natsgo.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.queued = false
	if len(p.buf) == 0 || !p.confirmed {
		return
	}
	if err := p.publishLocked(nc); err != nil {
		p.l.log.V(1).Info("NATS publish failed; frames lost", "subject", p.subj, "err", err.Error())
	}
}

// publishLocked publishes buf (split at frame boundaries to fit the
// server's maximum payload) and empties it. nats.go copies the data into
// its own buffer, so buf is reused at once.
func (p *peer) publishLocked(nc *natsgo.Conn) error {
	data, frames := p.buf, p.frames
	p.buf, p.spare = p.spare[:0], data
	p.frames = 0
	if nc == nil || !nc.IsConnected() {
		return p.l.notConnected()
	}
	limit := int(nc.MaxPayload())
	for len(data) > 0 {
		n := len(data)
		if limit > 0 && n > limit {
			n = frameCut(data, limit)
		}
		if err := nc.Publish(p.subj, data[:n]); err != nil {
			return fmt.Errorf("nats: publishing to %s: %w", p.subj, err)
		}
		p.l.stats.Published.Add(1)
		data = data[n:]
	}
	p.l.stats.Frames.Add(frames)
	return nil
}

// frameCut returns the length of the longest prefix of data made of whole
// frames and at most limit bytes (at least one frame).
func frameCut(data []byte, limit int) int {
	n := 0
	for n < len(data) {
		next := n + transport.HeaderSize + int(binary.LittleEndian.Uint32(data[n:]))
		if next > limit && n > 0 {
			break
		}
		n = next
	}
	return n
}

func (l *Links) conn() *natsgo.Conn { return l.ncp.Load() }
