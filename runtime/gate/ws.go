package gate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// The gate's own server side of RFC 6455: frame headers, close payloads
// and status codes. Everything here is pure (bytes in, bytes or errors
// out); wsreader.go drives it from a connection, wsupgrade.go does the
// opening handshake. The gate negotiates no extension and no subprotocol.

// WebSocket opcodes (RFC 6455 §5.2).
const (
	wsContinuation = 0x0
	wsText         = 0x1
	wsBinary       = 0x2
	wsClose        = 0x8
	wsPing         = 0x9
	wsPong         = 0xa
)

// WebSocket close status codes the gate sends (RFC 6455 §7.4.1).
const (
	wsNormal          = 1000
	wsGoingAway       = 1001
	wsProtocolError   = 1002
	wsUnsupportedData = 1003
	wsNoStatus        = 1005 // received only: a close frame without a status
	wsInvalidPayload  = 1007
	wsPolicyViolation = 1008
	wsTooBig          = 1009
	wsTryAgainLater   = 1013
)

const (
	wsMaxControl      = 125 // a control frame's payload
	wsMaxCloseReason  = wsMaxControl - 2
	wsHeaderFinBit    = 0x80
	wsHeaderRSVBits   = 0x70
	wsHeaderOpMask    = 0x0f
	wsHeaderMaskBit   = 0x80
	wsHeaderLenMask   = 0x7f
	wsLen16, wsLen64  = 126, 127
	wsMaxPayloadLen64 = 1<<63 - 1
)

// wsError is a WebSocket protocol failure: the connection is closed with
// status and text. It wraps errTooLarge for 1009, else ErrMalformed.
type wsError struct {
	status uint16
	text   string
}

func (e *wsError) Error() string { return fmt.Sprintf("websocket %d: %s", e.status, e.text) }

func (e *wsError) Unwrap() error {
	if e.status == wsTooBig {
		return errTooLarge
	}
	return ErrMalformed
}

func wsFail(status uint16, format string, args ...any) *wsError {
	return &wsError{status: status, text: fmt.Sprintf(format, args...)}
}

// wsHeader is one parsed client frame header.
type wsHeader struct {
	fin    bool
	op     byte
	mask   [4]byte
	length uint64 // payload bytes
	size   int    // header bytes; 0: b holds only part of a header
}

func wsIsControl(op byte) bool { return op&0x8 != 0 }

// parseWSHeader parses the client frame header at the start of b. It
// checks what a server must refuse as soon as the bytes show it (RSV bits
// without an extension, reserved opcodes, unmasked frames, fragmented or
// long control frames, a 64-bit length with its top bit set); a result
// with size 0 and no error means b holds only part of the header. The
// message size limit is the caller's: it knows the fragments before.
func parseWSHeader(b []byte) (wsHeader, error) {
	var h wsHeader
	if len(b) < 2 {
		return h, nil
	}
	if b[0]&wsHeaderRSVBits != 0 {
		return h, wsFail(wsProtocolError, "reserved bits %#x set without an extension", b[0]&wsHeaderRSVBits)
	}
	h.fin, h.op = b[0]&wsHeaderFinBit != 0, b[0]&wsHeaderOpMask
	switch h.op {
	case wsContinuation, wsText, wsBinary, wsClose, wsPing, wsPong:
	default:
		return h, wsFail(wsProtocolError, "reserved opcode %#x", h.op)
	}
	if b[1]&wsHeaderMaskBit == 0 {
		return h, wsFail(wsProtocolError, "a client frame must be masked")
	}
	n := uint64(b[1] & wsHeaderLenMask)
	if wsIsControl(h.op) && (!h.fin || n > wsMaxControl) {
		return h, wsFail(wsProtocolError, "control frame %#x fragmented or over %d bytes", h.op, wsMaxControl)
	}
	size := 2
	switch n {
	case wsLen16:
		if len(b) < size+2 {
			return h, nil
		}
		n = uint64(binary.BigEndian.Uint16(b[size:]))
		size += 2
	case wsLen64:
		if len(b) < size+8 {
			return h, nil
		}
		n = binary.BigEndian.Uint64(b[size:])
		if n > wsMaxPayloadLen64 {
			return h, wsFail(wsProtocolError, "64-bit payload length with the top bit set")
		}
		size += 8
	}
	if len(b) < size+4 {
		return h, nil
	}
	copy(h.mask[:], b[size:size+4])
	h.length, h.size = n, size+4
	return h, nil
}

// wsUnmask XORs p with the mask, p starting at byte pos of the payload;
// it returns the position after p.
func wsUnmask(p []byte, mask [4]byte, pos int) int {
	for i := range p {
		p[i] ^= mask[(pos+i)&3]
	}
	return pos + len(p)
}

// appendWSHeader appends an unmasked server frame header (FIN set).
func appendWSHeader(buf []byte, op byte, n int) []byte {
	buf = append(buf, wsHeaderFinBit|op)
	switch {
	case n <= wsMaxControl:
		return append(buf, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(buf, wsLen16), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(buf, wsLen64), uint64(n))
	}
}

// appendWSMessage appends m as one binary frame.
func appendWSMessage(buf []byte, m *Message) []byte {
	buf = appendWSHeader(buf, wsBinary, minMessage+len(m.Cmd)+len(m.Payload))
	return AppendMessage(buf, m)
}

// appendWSClose appends a close frame with status and reason, the reason
// cut to what a control frame holds on a UTF-8 boundary.
func appendWSClose(buf []byte, status uint16, reason string) []byte {
	if len(reason) > wsMaxCloseReason {
		cut := wsMaxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	if !utf8.ValidString(reason) {
		reason = ""
	}
	buf = appendWSHeader(buf, wsClose, 2+len(reason))
	buf = binary.BigEndian.AppendUint16(buf, status)
	return append(buf, reason...)
}

// errPeerClosed reports the client's close frame.
var errPeerClosed = errors.New("the client closed the WebSocket")

// parseWSClose checks a client's close payload and returns the status to
// echo: its own, or 1000 when it sent none.
func parseWSClose(p []byte) (uint16, error) {
	switch {
	case len(p) == 0:
		return wsNormal, nil
	case len(p) == 1:
		return 0, wsFail(wsProtocolError, "a close payload of one byte")
	}
	status := binary.BigEndian.Uint16(p)
	if !wsValidCloseStatus(status) {
		return 0, wsFail(wsProtocolError, "close status %d", status)
	}
	if !utf8.Valid(p[2:]) {
		return 0, wsFail(wsInvalidPayload, "close reason not UTF-8")
	}
	return status, nil
}

// wsValidCloseStatus reports whether a peer may send status in a close frame.
func wsValidCloseStatus(status uint16) bool {
	switch {
	case status >= 1000 && status <= 1003, status >= 1007 && status <= 1014:
		return true
	default:
		return status >= 3000 && status <= 4999
	}
}

// wsStatus maps a gate error code to a WebSocket close status.
func wsStatus(code string) uint16 {
	switch code {
	case CodeTooLarge:
		return wsTooBig
	case CodeIdle, CodeShutdown, CodeMoveCommand, "":
		return wsGoingAway
	case CodeFull:
		return wsTryAgainLater
	case CodeMalformed, CodeBadKind:
		return wsInvalidPayload
	default:
		return wsPolicyViolation
	}
}
