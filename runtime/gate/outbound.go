package gate

import (
	"fmt"
	"sync"
	"time"
)

// The outbound side of a connection: a bounded queue of framed messages in
// a pooled buffer, written by the goroutine that queued them when the
// socket has room, else by a writer goroutine that exists only while there
// is something to send.

// writeBufs holds the outbound buffers: a connection takes one when it has
// something to send and gives it back once written.
var writeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// maxPooledWrite is the largest outbound buffer kept for reuse.
const maxPooledWrite = 64 << 10

func putWriteBuf(b *[]byte) {
	if cap(*b) <= maxPooledWrite {
		*b = (*b)[:0]
		writeBufs.Put(b)
	}
}

// enqueue queues m for the client and, when no writer is at work, writes
// it on this goroutine (writeLocked); a full queue means the client reads
// too slowly: it is disconnected.
func (c *conn) enqueue(m *Message) {
	c.mu.Lock()
	if !c.roomLocked() {
		c.mu.Unlock()
		return
	}
	*c.out = appendOut(*c.out, c.w.transport(), m)
	c.queued++
	c.writeLocked()
}

// enqueueAsync is enqueue that leaves the write to a writer goroutine: for
// a caller that must not wait on this client (Drain, going over them all).
func (c *conn) enqueueAsync(m *Message) {
	c.mu.Lock()
	if !c.roomLocked() {
		c.mu.Unlock()
		return
	}
	*c.out = appendOut(*c.out, c.w.transport(), m)
	c.queued++
	c.startFlushLocked()
	c.mu.Unlock()
}

// inlineWriteWait bounds a write made by the goroutine that queued the
// message: a socket with room takes it at once.
const inlineWriteWait = time.Millisecond

// writeLocked sends what is queued on this goroutine when no writer is at
// work, so that a reply or a push reaches the socket without waking a
// writer goroutine (one hand-off less per message). What the socket does
// not take within inlineWriteWait, and what is queued meanwhile, goes to a
// writer goroutine (flush). c.mu is held on entry and released.
func (c *conn) writeLocked() {
	if c.flushing {
		c.mu.Unlock()
		return
	}
	c.flushing = true
	out, n := c.out, c.queued
	c.out, c.queued = nil, 0
	c.mu.Unlock()
	written, err := c.w.send(*out, inlineWriteWait)
	if err == nil {
		c.g.metrics.out.Add(uint64(n))
		putWriteBuf(out)
		c.mu.Lock()
		if c.queued == 0 && !c.closing {
			c.flushing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		go c.flush() // as in startFlushLocked
		return
	}
	// The rest goes first, then what was queued meanwhile; all of the
	// batch counts as waiting. Once closing, fail has dropped the queue.
	c.mu.Lock()
	if !c.closing {
		merged := writeBufs.Get().(*[]byte)
		*merged = append(*merged, (*out)[written:]...)
		if c.out != nil {
			*merged = append(*merged, *c.out...)
			putWriteBuf(c.out)
		}
		c.out, c.queued = merged, c.queued+n
	}
	c.mu.Unlock()
	putWriteBuf(out)
	go c.flush()
}

// enqueuePong queues a WebSocket pong, counted like a message.
func (c *conn) enqueuePong(payload []byte) {
	c.mu.Lock()
	if !c.roomLocked() {
		c.mu.Unlock()
		return
	}
	*c.out = append(appendWSHeader(*c.out, wsPong, len(payload)), payload...)
	c.queued++
	c.startFlushLocked()
	c.mu.Unlock()
}

// roomLocked reports whether one more message may be queued, taking an
// outbound buffer if needed; a full queue fails the connection (c.mu is
// released and taken again around fail).
func (c *conn) roomLocked() bool {
	if c.closing {
		return false
	}
	if c.queued >= c.g.opts.QueueSize {
		c.mu.Unlock()
		c.g.metrics.queueFull.Add(1)
		c.fail(CodeSlowConsumer, fmt.Sprintf("more than %d messages waiting", c.g.opts.QueueSize))
		c.mu.Lock()
		return false
	}
	if c.out == nil {
		c.out = writeBufs.Get().(*[]byte)
	}
	return true
}

// fail closes the connection with a reason: what is queued is dropped, the
// client gets one KindError (Session 0) and the transport's close.
func (c *conn) fail(code, text string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.code, c.text = code, text
	if c.out != nil {
		*c.out = (*c.out)[:0]
	}
	c.queued = 0
	if code != "" {
		if c.out == nil {
			c.out = writeBufs.Get().(*[]byte)
		}
		*c.out = appendOut(*c.out, c.w.transport(), &Message{Kind: KindError, Cmd: code, Payload: []byte(text)})
		c.queued = 1
	}
	c.g.metrics.closed(code) // counted before the client can see the reason
	c.startFlushLocked()
	c.mu.Unlock()
	// A writer stuck on a client that does not read is cut off.
	time.AfterFunc(min(c.g.opts.WriteTimeout, 2*time.Second), func() {
		select {
		case <-c.shutDone:
		default:
			c.w.abort()
		}
	})
}

func (c *conn) startFlushLocked() {
	if !c.flushing {
		c.flushing = true
		go c.flush() // joined by serve through shutDone; serve is owned by the gate
	}
}

// flush writes what is queued, all of it in one write per wake-up, until
// nothing is left; once closing it shuts the wire.
func (c *conn) flush() {
	for {
		c.mu.Lock()
		out, n := c.out, c.queued
		c.out, c.queued = nil, 0
		if n == 0 {
			c.flushing = false
			closing, code, text := c.closing, c.code, c.text
			c.mu.Unlock()
			if out != nil {
				putWriteBuf(out)
			}
			if closing {
				c.w.shut(code, text)
				close(c.shutDone)
			}
			return
		}
		c.mu.Unlock()
		_, err := c.w.send(*out, c.g.opts.WriteTimeout)
		putWriteBuf(out)
		if err != nil {
			c.w.abort()
			c.mu.Lock()
			already := c.closing
			c.closing, c.queued = true, 0
			if c.out != nil {
				*c.out = (*c.out)[:0]
			}
			c.mu.Unlock()
			if !already {
				c.g.metrics.closed("")
			}
			continue // shuts and signals
		}
		c.g.metrics.out.Add(uint64(n))
	}
}
