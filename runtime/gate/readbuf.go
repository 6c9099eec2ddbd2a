package gate

import (
	"io"
	"slices"
	"sync"
)

// readBufSize is the pooled buffer a connection reads through while bytes
// are pending; idleBufSize the inline one it waits on while idle.
const (
	readBufSize = 4 << 10
	idleBufSize = 64
)

// readBufs holds the read buffers of connections that have bytes pending:
// an idle connection holds none.
var readBufs = sync.Pool{New: func() any { b := make([]byte, readBufSize); return &b }}

// pendingReader reads a client connection for both transports. While it
// waits for the first bytes of a message it reads into a small inline
// buffer; only while bytes stay pending (a burst, a partial header) does it
// read through a pooled buffer, given back as soon as everything pending
// is consumed, so an idle connection keeps no read buffer. Payloads longer
// than what is pending are read straight into their own slice. One
// goroutine (the connection's reader) uses it.
type pendingReader struct {
	r      io.Reader
	idle   [idleBufSize]byte
	pooled *[]byte // nil unless buf is pooled
	buf    []byte  // idle[:] or *pooled
	lo, hi int     // buf[lo:hi] is unread
}

func (p *pendingReader) init(r io.Reader) {
	p.r = r
	p.buf = p.idle[:]
}

// pending returns the unread bytes.
func (p *pendingReader) pending() []byte { return p.buf[p.lo:p.hi] }

// consume marks n unread bytes read; once none are left a pooled buffer
// goes back to the pool.
func (p *pendingReader) consume(n int) {
	p.lo += n
	if p.lo < p.hi {
		return
	}
	p.release()
}

// fill reads at least one more byte, or returns the reader's error.
func (p *pendingReader) fill() error {
	switch {
	case p.pooled == nil && p.hi > 0: // a partial header: more is flowing
		p.pooled = readBufs.Get().(*[]byte)
		p.hi = copy(*p.pooled, p.buf[p.lo:p.hi])
		p.lo, p.buf = 0, *p.pooled
	case p.hi == len(p.buf):
		p.hi = copy(p.buf, p.buf[p.lo:p.hi])
		p.lo = 0
	}
	for {
		n, err := p.r.Read(p.buf[p.hi:])
		p.hi += n
		if n > 0 {
			return nil // an error comes back with the next read
		}
		if err != nil {
			return err
		}
	}
}

// appendN appends the next n bytes to dst. Pending bytes are copied; the
// rest is read straight into dst, which grows by at most what it holds
// (or readBufSize) at a time: a length a client announces is allocated
// only as its bytes arrive, give or take readBufSize.
func (p *pendingReader) appendN(dst []byte, n int) ([]byte, error) {
	take := min(n, p.hi-p.lo)
	if dst == nil { // one allocation for a message of up to readBufSize more than is pending
		dst = make([]byte, 0, min(n, take+readBufSize))
	}
	dst = append(dst, p.buf[p.lo:p.lo+take]...)
	p.consume(take)
	for n -= take; n > 0; {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, min(n, max(len(dst), readBufSize)))
		}
		k, err := p.r.Read(dst[len(dst):min(cap(dst), len(dst)+n)])
		dst, n = dst[:len(dst)+k], n-k
		if k == 0 && err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// release gives a pooled buffer back, with whatever is left in it.
func (p *pendingReader) release() {
	p.lo, p.hi = 0, 0
	if p.pooled != nil {
		readBufs.Put(p.pooled)
		p.pooled, p.buf = nil, p.idle[:]
	}
}
