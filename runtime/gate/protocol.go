package gate

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/lotou-io/lotou/runtime/codec"
	lotoubin "github.com/lotou-io/lotou/runtime/codec/binary"
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

// DecodeMessage decodes one message with the "binary" codec. It never
// panics; every failure wraps ErrMalformed. Payload aliases data.
func DecodeMessage(data []byte, maxMessage int) (Message, error) {
	var m Message
	if len(data) < minMessage {
		return m, fmt.Errorf("%d bytes, want at least %d: %w", len(data), minMessage, ErrMalformed)
	}
	if maxMessage > 0 && len(data) > maxMessage {
		return m, fmt.Errorf("%d bytes over the %d limit: %w", len(data), maxMessage, ErrMalformed)
	}
	lim := codec.Limits{MaxLen: len(data), MaxDepth: 2, MaxAlloc: int64(2 * len(data))}
	if err := lotoubin.UnmarshalLimits(data, &m, lim); err != nil {
		return m, fmt.Errorf("decoding: %v: %w", err, ErrMalformed)
	}
	// The codec reads exactly its fields; trailing bytes are an error.
	if n := minMessage + len(m.Cmd) + len(m.Payload); n != len(data) {
		return m, fmt.Errorf("%d trailing bytes: %w", len(data)-n, ErrMalformed)
	}
	if len(m.Cmd) > maxCmdLen {
		return m, fmt.Errorf("command of %d bytes, at most %d: %w", len(m.Cmd), maxCmdLen, ErrMalformed)
	}
	if m.Kind < KindHello || m.Kind > KindPong {
		return m, fmt.Errorf("kind %d: %w", m.Kind, ErrMalformed)
	}
	return m, nil
}
