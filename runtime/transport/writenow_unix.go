//go:build darwin || linux || openbsd

package transport

import (
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxIovecs bounds one vectored write (IOV_MAX on Linux).
const maxIovecs = 1024

// nowWriter makes a sender's inline write a single non-blocking writev: what
// the socket does not take at once stays queued for the write loop. Unlike
// a short write deadline it arms no timer, and a timer per round trip (set
// on the way out, firing after the reply) cost a lone caller about a
// quarter of its latency in scheduler wake-ups.
type nowWriter struct {
	rc syscall.RawConn
}

// newNowWriter returns a nowWriter for plain TCP (or any conn exposing its
// descriptor), else nil (the caller falls back to a short deadline).
func newNowWriter(nc net.Conn) *nowWriter {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &nowWriter{rc: rc}
}

// write writes what the socket takes of bufs without waiting and returns
// the byte count; bufs keeps what is left. A full socket is not an error.
func (w *nowWriter) write(nc net.Conn, bufs *net.Buffers) (int64, error) {
	var n int
	var werr error
	iovs := *bufs
	if len(iovs) > maxIovecs {
		iovs = iovs[:maxIovecs]
	}
	do := func(fd uintptr) bool {
		n, werr = unix.Writev(int(fd), iovs)
		return true // never wait: the write loop takes what is left
	}
	err := w.rc.Write(do)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// An old write-loop deadline expired while the link was idle: it
		// no longer applies to anything.
		if derr := nc.SetWriteDeadline(time.Time{}); derr != nil {
			return 0, derr //nolint:wrapcheck // wrapped by the caller
		}
		err = w.rc.Write(do)
	}
	if err != nil {
		return 0, err //nolint:wrapcheck // wrapped by the caller
	}
	if n < 0 {
		n = 0
	}
	consume(bufs, int64(n))
	if werr != nil && !errors.Is(werr, unix.EAGAIN) && !errors.Is(werr, unix.EINTR) {
		return int64(n), werr //nolint:wrapcheck // wrapped by the caller
	}
	return int64(n), nil
}

// consume drops the first n bytes of bufs.
func consume(bufs *net.Buffers, n int64) {
	for len(*bufs) > 0 {
		l := int64(len((*bufs)[0]))
		if l > n {
			(*bufs)[0] = (*bufs)[0][n:]
			return
		}
		n -= l
		(*bufs)[0] = nil
		*bufs = (*bufs)[1:]
	}
}
