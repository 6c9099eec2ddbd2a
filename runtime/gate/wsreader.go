package gate

import "io"

// wsFrameKind is what wsReader.next returns besides a data message.
type wsFrameKind int

const (
	wsGotMessage wsFrameKind = iota // a complete binary message
	wsGotPing                       // a ping: answer a pong with the payload
	wsGotPong                       // a pong: nothing to do
	wsGotClose                      // the client's close: echo status, end
)

// wsReader reads client frames from a connection: it unmasks them,
// reassembles fragmented messages, enforces max on a message's total size
// from the frame headers before it allocates, and hands control frames
// (which may come between fragments) to its caller.
type wsReader struct {
	in    pendingReader
	limit int
	msg   []byte // a fragmented message being assembled
	// inMsg is set between a message's first fragment and its last.
	inMsg bool
}

func newWSReader(r io.Reader, limit int) *wsReader {
	w := &wsReader{limit: limit}
	w.in.init(r)
	return w
}

// next reads until a complete binary message or a control frame. For a
// close it returns the status to echo. The message is the caller's.
func (w *wsReader) next() (kind wsFrameKind, data []byte, status uint16, err error) {
	for {
		var h wsHeader
		for {
			if h, err = parseWSHeader(w.in.pending()); err != nil {
				return 0, nil, 0, err
			}
			if h.size > 0 {
				break
			}
			if err = w.in.fill(); err != nil {
				return 0, nil, 0, err
			}
		}
		w.in.consume(h.size)
		if wsIsControl(h.op) {
			p, err := w.payload(nil, h)
			if err != nil {
				return 0, nil, 0, err
			}
			switch h.op {
			case wsPing:
				return wsGotPing, p, 0, nil
			case wsPong:
				return wsGotPong, nil, 0, nil
			default:
				st, cerr := parseWSClose(p)
				return wsGotClose, nil, st, cerr
			}
		}
		switch {
		case h.op == wsText:
			return 0, nil, 0, wsFail(wsUnsupportedData, "text messages are not accepted: send binary")
		case h.op == wsContinuation && !w.inMsg:
			return 0, nil, 0, wsFail(wsProtocolError, "a continuation frame without a message")
		case h.op == wsBinary && w.inMsg:
			return 0, nil, 0, wsFail(wsProtocolError, "a new message before the last fragment of the previous one")
		case h.length > uint64(w.limit-len(w.msg)):
			return 0, nil, 0, wsFail(wsTooBig, "message over %d bytes", w.limit)
		}
		if w.msg, err = w.payload(w.msg, h); err != nil {
			return 0, nil, 0, err
		}
		if !h.fin {
			w.inMsg = true
			continue
		}
		data, w.msg, w.inMsg = w.msg, nil, false
		if data == nil {
			data = []byte{}
		}
		return wsGotMessage, data, 0, nil
	}
}

// payload appends the frame's unmasked payload to dst.
func (w *wsReader) payload(dst []byte, h wsHeader) ([]byte, error) {
	start := len(dst)
	dst, err := w.in.appendN(dst, int(h.length)) // at most max (checked by next) or a control frame's 125
	if err != nil {
		return nil, err
	}
	wsUnmask(dst[start:], h.mask, 0)
	return dst, nil
}

// release drops what the reader holds (the connection is over).
func (w *wsReader) release() {
	w.in.release()
	w.msg = nil
}
