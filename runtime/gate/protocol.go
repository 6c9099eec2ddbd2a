package gate

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the gate protocol version a client names in its Hello.
const Version = "lotou.gate/1"

// Kind says what a Message is. Values are part of the wire protocol.
type Kind uint8

// Message kinds (docs/protocol.md).
const (
	// KindHello is the client's first message: Cmd is Version, Payload the
	// credentials (a ticket). Answered by KindReply (Payload: the user) or a
	// KindError and a close.
	KindHello Kind = 1
	// KindSend is a one-way client message forwarded to the game service.
	KindSend Kind = 2
	// KindCall is a client request; answered by KindReply or KindError with
	// the same Session.
	KindCall Kind = 3
	// KindReply answers a KindHello or KindCall.
	KindReply Kind = 4
	// KindError answers a KindCall (Session set) or announces a close
	// (Session 0); Cmd is an error code, Payload a human-readable text.
	KindError Kind = 5
	// KindPush is a message a service pushed to the client.
	KindPush Kind = 6
	// KindMove tells the client this node is leaving: reconnect through the
	// public address; Payload says why.
	KindMove Kind = 7
	// KindPing keeps an idle client alive; answered by KindPong with the same
	// Session.
	KindPing Kind = 8
	// KindPong answers KindPing.
	KindPong Kind = 9
)

// Error codes sent in KindError's Cmd and as close reasons.
const (
	CodeMalformed     = "malformed"
	CodeTooLarge      = "too_large"
	CodeUnauthorized  = "unauthorized"
	CodeRateLimited   = "rate_limited"
	CodeIdle          = "idle"
	CodeFull          = "full"
	CodeSlowConsumer  = "slow_consumer"
	CodeUnavailable   = "unavailable"
	CodeFailed        = "failed"
	CodeKicked        = "kicked"
	CodeShutdown      = "shutdown"
	CodeBadKind       = "bad_kind"
	CodeMoveCommand   = "move"
	minMessage        = 1 + 4 + 4 + 4 // kind, session, cmd length, payload length
	maxCmdLen         = 255
	lengthPrefix      = 4
	defaultMaxMessage = 64 << 10
)

// ErrMalformed reports client bytes that are not a valid Message.
var ErrMalformed = errors.New("malformed message")

// Message is one gate protocol message. On the wire it is exactly the
// "binary" codec encoding of this struct: kind (1 byte), session (uint32
// LE), cmd (uint32 LE length + bytes), payload (uint32 LE length + bytes).
type Message struct {
	Kind    Kind
	Session uint32
	Cmd     string
	Payload []byte
}

// AppendMessage appends m's encoding to buf.
func AppendMessage(buf []byte, m *Message) []byte {
	buf = append(buf, byte(m.Kind))
	buf = binary.LittleEndian.AppendUint32(buf, m.Session)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(m.Cmd)))
	buf = append(buf, m.Cmd...)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(m.Payload)))
	return append(buf, m.Payload...)
}

// AppendFrame appends m as a TCP frame: 4-byte LE length, then the message.
func AppendFrame(buf []byte, m *Message) []byte {
	start := len(buf)
	buf = append(buf, 0, 0, 0, 0)
	buf = AppendMessage(buf, m)
	binary.LittleEndian.PutUint32(buf[start:], uint32(len(buf)-start-lengthPrefix))
	return buf
}

// DecodeMessage decodes one message: the "binary" codec's layout, read by
// hand because it is fixed (FuzzDecodeMatchesCodec holds the two equal). It
// never panics; every failure wraps ErrMalformed. Payload aliases data;
// Cmd is a copy.
func DecodeMessage(data []byte, maxMessage int) (Message, error) {
	var m Message
	if len(data) < minMessage {
		return m, fmt.Errorf("%d bytes, want at least %d: %w", len(data), minMessage, ErrMalformed)
	}
	if maxMessage > 0 && len(data) > maxMessage {
		return m, fmt.Errorf("%d bytes over the %d limit: %w", len(data), maxMessage, ErrMalformed)
	}
	m.Kind = Kind(data[0])
	m.Session = binary.LittleEndian.Uint32(data[1:])
	rest := data[5:] // from the command's length: at least 8 bytes
	cmdLen := uint64(binary.LittleEndian.Uint32(rest))
	if cmdLen > uint64(len(rest)-8) {
		return Message{}, fmt.Errorf("command length %d past the message: %w", cmdLen, ErrMalformed)
	}
	if cmdLen > maxCmdLen {
		return Message{}, fmt.Errorf("command of %d bytes, at most %d: %w", cmdLen, maxCmdLen, ErrMalformed)
	}
	m.Cmd = string(rest[4 : 4+cmdLen])
	rest = rest[4+cmdLen:]
	payLen := uint64(binary.LittleEndian.Uint32(rest))
	switch {
	case payLen > uint64(len(rest)-4):
		return Message{}, fmt.Errorf("payload length %d past the message: %w", payLen, ErrMalformed)
	case payLen < uint64(len(rest)-4):
		return Message{}, fmt.Errorf("%d trailing bytes: %w", uint64(len(rest)-4)-payLen, ErrMalformed)
	}
	if payLen > 0 {
		m.Payload = rest[4:]
	}
	if m.Kind < KindHello || m.Kind > KindPong {
		return Message{}, fmt.Errorf("kind %d: %w", m.Kind, ErrMalformed)
	}
	return m, nil
}
