package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderSize is the size of the length prefix in front of every frame.
const HeaderSize = 4

// DefaultMaxFrame is the largest payload accepted when Options.MaxFrame is zero.
const DefaultMaxFrame = 4 << 20

// ErrFrameTooLarge is returned when a frame's declared length exceeds the
// configured maximum. The connection that sent it is closed.
var ErrFrameTooLarge = errors.New("transport: frame too large")

// AppendFrame appends payload to dst as one frame (length prefix + payload).
func AppendFrame(dst, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// partialChunk bounds how much the parser allocates ahead of data actually
// received for a split frame, so a peer that announces a large frame and then
// sends it slowly cannot make us allocate the whole frame up front.
const partialChunk = 64 << 10

// Parser splits a byte stream into frames. It is resumable: Feed may be called
// with any slicing of the stream and yields the same frames. The zero value is
// not usable; use NewParser.
type Parser struct {
	max     int
	hdr     [HeaderSize]byte
	hdrN    int    // bytes of the current header collected so far
	need    int    // payload length of the current frame once the header is known, -1 while reading a header
	partial []byte // payload bytes collected so far for a frame split across Feed calls
}

// NewParser returns a parser that refuses payloads longer than maxFrame bytes
// (DefaultMaxFrame if maxFrame <= 0).
func NewParser(maxFrame int) *Parser {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	return &Parser{max: maxFrame, need: -1}
}

// Feed consumes data and calls fn once per complete frame payload, in order.
// The payload slice is only valid during the call. An error from fn stops
// parsing and is returned; after ErrFrameTooLarge the parser must not be used
// again.
func (p *Parser) Feed(data []byte, fn func(payload []byte) error) error {
	for len(data) > 0 {
		if p.need < 0 {
			var err error
			if data, err = p.readHeader(data); err != nil {
				return err
			}
			if p.need < 0 {
				return nil // header still incomplete
			}
		}
		// Fast path: the whole payload is in data and nothing is pending.
		if len(p.partial) == 0 && len(data) >= p.need {
			n := p.need
			p.need = -1
			if err := fn(data[:n]); err != nil {
				return err
			}
			data = data[n:]
			continue
		}
		missing := p.need - len(p.partial)
		take := min(missing, len(data))
		if p.partial == nil {
			p.partial = make([]byte, 0, min(p.need, partialChunk))
		}
		p.partial = append(p.partial, data[:take]...)
		data = data[take:]
		if len(p.partial) < p.need {
			return nil
		}
		payload := p.partial
		p.partial = p.partial[:0]
		if cap(p.partial) > partialChunk {
			p.partial = nil // do not keep a large buffer alive
		}
		p.need = -1
		if err := fn(payload); err != nil {
			return err
		}
	}
	return nil
}

// readHeader collects header bytes from data and returns the rest. When the
// header is complete it sets p.need.
func (p *Parser) readHeader(data []byte) ([]byte, error) {
	if p.hdrN == 0 && len(data) >= HeaderSize {
		return data[HeaderSize:], p.setNeed(binary.LittleEndian.Uint32(data))
	}
	n := copy(p.hdr[p.hdrN:], data)
	p.hdrN += n
	data = data[n:]
	if p.hdrN < HeaderSize {
		return data, nil
	}
	p.hdrN = 0
	return data, p.setNeed(binary.LittleEndian.Uint32(p.hdr[:]))
}

func (p *Parser) setNeed(n uint32) error {
	if uint64(n) > uint64(p.max) {
		return fmt.Errorf("%w: %d bytes announced, limit %d", ErrFrameTooLarge, n, p.max)
	}
	p.need = int(n)
	return nil
}

// Pending reports whether the parser holds part of a frame.
func (p *Parser) Pending() bool { return p.hdrN > 0 || p.need >= 0 }
