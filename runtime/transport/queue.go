package transport

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// ErrQueueFull is returned by a send when the link's queue already holds
// Options.QueueBytes bytes. The frame is not queued; the caller decides what
// to do (drop, retry, report).
var ErrQueueFull = errors.New("transport: send queue full")

// ErrClosed is returned when sending on a closed link or transport.
var ErrClosed = errors.New("transport: closed")

// chunkSize is the size of the buffers small frames are packed into. A batch
// of many small frames becomes a handful of chunks in one vectored write.
const chunkSize = 32 << 10

// maxFreeChunks bounds how many written chunks a queue keeps for reuse.
const maxFreeChunks = 8

// sendQueue is a bounded byte queue of frames. Producers append frames under a
// mutex; the single writer takes everything queued at once.
type sendQueue struct {
	mu         sync.Mutex
	bufs       net.Buffers // completed chunks and standalone frames, in order
	tail       []byte      // chunk being filled
	size       int         // queued bytes
	frames     int         // queued frames
	limit      int
	max        int // maximum payload size
	free       [][]byte
	ready      chan struct{} // signalled when the queue goes from empty to non-empty, or on close
	closing    bool
	flusher    atomic.Pointer[Conn] // connection draining this queue, for inline writes
	rest       net.Buffers          // unwritten end of a timed-out inline write
	restOwner  *Conn                // the only connection rest may be written on
	born       time.Time            // origin of lastInline
	lastInline atomic.Int64         // when the last inline write began, since born (see inlineDue)
}

func newSendQueue(limit, maxFrame int) *sendQueue {
	return &sendQueue{limit: limit, max: maxFrame, ready: make(chan struct{}, 1), born: time.Now()}
}

func (q *sendQueue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// Encoder appends a frame payload for v to dst. Implementations are
// long-lived (one per cluster); v carries the per-frame data, so queueing a
// frame allocates nothing.
type Encoder interface {
	EncodePayload(dst []byte, v any) ([]byte, error)
}

type funcEncoder func(b []byte) ([]byte, error)

func (f funcEncoder) EncodePayload(b []byte, _ any) ([]byte, error) { return f(b) }

// push queues payload as one frame.
func (q *sendQueue) push(payload []byte) error {
	return q.encodeFrame(bytesEncoder{}, payload, false)
}

type bytesEncoder struct{}

func (bytesEncoder) EncodePayload(b []byte, v any) ([]byte, error) {
	return append(b, v.([]byte)...), nil
}

// appendFrame queues one frame whose payload is appended to b by fn. fn runs
// under the queue lock and must be quick and must not call back into the queue.
func (q *sendQueue) appendFrame(fn func(b []byte) ([]byte, error)) error {
	return q.encodeFrame(funcEncoder(fn), nil, false)
}

// encodeFrame queues one frame whose payload enc appends. enc runs under
// the queue lock and must be quick and must not call back into the queue.
func (q *sendQueue) encodeFrame(enc Encoder, v any, inline bool) error {
	wasEmpty, err := q.encodeLocked(enc, v)
	switch {
	case !wasEmpty:
	case inline:
		q.wake()
	default:
		q.signal()
	}
	return err
}

// wake gets a queue that just became non-empty written: by the sender itself
// when the connection is idle (saving the hand-off to the write loop, which
// matters for a round trip), else by signalling the write loop. Streams of
// one-way frames do not use it: they are cheaper batched by the write loop.
func (q *sendQueue) wake() {
	if c := q.flusher.Load(); c != nil && q.inlineDue() && c.writeMu.TryLock() {
		c.flushInline()
		c.writeMu.Unlock()
		return
	}
	q.signal()
}

// inlineDue reports whether a frame someone waits on may be written
// inline: not when the last inline write began less than inlineGap ago.
// A lone caller's frames are a round trip apart and go out at once; a
// service answering a batch of calls would otherwise make one system call
// per reply, where the write loop sends the whole batch in one.
func (q *sendQueue) inlineDue() bool {
	if inlineGap == 0 {
		return true
	}
	now := int64(time.Since(q.born))
	if last := q.lastInline.Load(); now-last < int64(inlineGap) || !q.lastInline.CompareAndSwap(last, now) {
		return false
	}
	return true
}

// inlineGap is the least time between two inline writes on a link.
const inlineGap = 10 * time.Microsecond

func (q *sendQueue) encodeLocked(enc Encoder, v any) (wasEmpty bool, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return false, ErrClosed
	}
	if q.size >= q.limit {
		return false, ErrQueueFull
	}
	if cap(q.tail)-len(q.tail) < HeaderSize+64 {
		q.flushTail()
		q.tail = q.newChunk()
	}
	start := len(q.tail)
	b, err := enc.EncodePayload(append(q.tail, 0, 0, 0, 0), v)
	if err != nil {
		q.tail = q.tail[:start]
		return false, err
	}
	n := len(b) - start - HeaderSize
	if n > q.max {
		q.tail = q.tail[:start]
		return false, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, q.max)
	}
	if q.size+n+HeaderSize > q.limit {
		q.tail = q.tail[:start]
		return false, ErrQueueFull
	}
	putLen(b[start:], n)
	q.tail = b
	wasEmpty = q.size == 0
	q.size += n + HeaderSize
	q.frames++
	return wasEmpty, nil
}

// requeueRest puts back the bytes a timed-out inline write on c left
// unwritten. They end with a partial frame, so they go out first and only on
// c: another connection would get a torn frame, so take drops them there.
func (q *sendQueue) requeueRest(c *Conn, rest net.Buffers) {
	q.mu.Lock()
	q.rest = append(append(net.Buffers{}, rest...), q.rest...)
	q.restOwner = c
	q.mu.Unlock()
	q.signal()
}

// pushFront queues payload ahead of everything already queued. It is used
// for the first frame after a (re)connect, such as a registration.
func (q *sendQueue) pushFront(payload []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closing {
		return ErrClosed
	}
	if len(payload) > q.max {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(payload), q.max)
	}
	q.bufs = append(net.Buffers{AppendFrame(nil, payload)}, q.bufs...)
	if q.size == 0 {
		q.signal()
	}
	q.size += len(payload) + HeaderSize
	q.frames++
	return nil
}

func putLen(b []byte, n int) {
	b[0], b[1], b[2], b[3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
}

func (q *sendQueue) flushTail() {
	if len(q.tail) > 0 {
		q.bufs = append(q.bufs, q.tail)
	}
	q.tail = nil
}

func (q *sendQueue) newChunk() []byte {
	if n := len(q.free); n > 0 {
		c := q.free[n-1]
		q.free = q.free[:n-1]
		return c[:0]
	}
	return make([]byte, 0, chunkSize)
}

// take removes everything queued and reports whether the queue is closing.
// The caller must hand the chunks back with recycle once written.
func (q *sendQueue) take(c *Conn, dst net.Buffers) (bufs net.Buffers, frames int, closing bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.rest) > 0 && q.restOwner == c {
		dst = append(dst, q.rest...)
	}
	q.rest, q.restOwner = nil, nil
	q.flushTail()
	dst = append(dst, q.bufs...)
	clear(q.bufs)
	q.bufs = q.bufs[:0]
	frames = q.frames
	q.size, q.frames = 0, 0
	return dst, frames, q.closing
}

// recycle keeps written chunks for reuse.
func (q *sendQueue) recycle(chunks [][]byte) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, c := range chunks {
		if cap(c) == chunkSize && len(q.free) < maxFreeChunks {
			q.free = append(q.free, c)
		}
	}
}

// close makes further sends fail with ErrClosed; the writer writes what is
// queued and stops.
func (q *sendQueue) close() {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	q.signal()
}

// len returns the queued bytes.
func (q *sendQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.size
}

func (q *sendQueue) isClosing() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.closing
}
