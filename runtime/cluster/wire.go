package cluster

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/transport"
)

// ErrBadFrame means a frame from a peer could not be decoded. The frame is
// dropped; it never panics.
var ErrBadFrame = errors.New("cluster: malformed frame")

// errBadArgs marks a data frame whose header decoded but whose arguments did
// not: the message can still be answered.
var errBadArgs = errors.New("arguments do not decode")

// errUnknownKind marks a data frame of a kind this node does not know.
var errUnknownKind = errors.New("unknown message kind")

// maxCmdLen bounds a command name on the wire.
const maxCmdLen = 1024

// maxErrLen bounds an error text on the wire.
const maxErrLen = 64 << 10

// The envelope of a data message (one frame payload) is compact: no nested
// envelopes, no string enums. Service ids are written as node and counter
// uvarints, so small ids take two bytes instead of eight.
//
//	kind     1 byte (core.Kind: 1 send, 2 request, 3 call, 4 reply, 5 close;
//	         flagBudget (0x40) set on a request or call that carries a budget)
//	to       uvarint(node) uvarint(incarnation) uvarint(index)
//	from     uvarint(node) uvarint(incarnation) uvarint(index)
//	session  uvarint                  (request, call and reply only)
//	budget   uvarint microseconds     (with flagBudget only: the time left
//	                                   until the caller's deadline when sent)
//	cmd      uvarint(len) bytes       (all kinds but reply)
//	err      uvarint(len) bytes       (reply only; empty on success)
//	code     uvarint                  (reply with a non-empty err only: core.ErrorCode)
//	args     codec argument list      (rest of the frame)
//
// The budget is relative because clocks differ between nodes: it is
// computed when the frame is queued and the receiver turns it back into a
// deadline on its own clock when the frame is read, so the time the frame
// spent queued and in transit is not counted (normally well under a
// millisecond; under a stalled sender or a slow link the receiver's
// deadline is that much later than the caller's). Incarnations are at most 14 bits (two bytes). A remote Call(svc, "echo",
// 42) between small ids is 18 payload bytes, 22 bytes on the wire with the
// frame header. The sender checks every limit the receiver enforces: a
// command longer than maxCmdLen is refused with core.ErrTooLarge, an error
// text longer than maxErrLen is cut.

func appendID(b []byte, id core.ServiceID) []byte {
	b = codec.AppendUvarint(b, uint64(id.Node()))
	b = codec.AppendUvarint(b, uint64(id.Incarnation()))
	return codec.AppendUvarint(b, uint64(id.Index()))
}

// flagBudget marks, in the kind byte, a request or call whose frame carries
// the caller's remaining budget.
const flagBudget = 0x40

// maxBudget bounds the budget carried on the wire (a day, in microseconds):
// a longer one is sent as this.
const maxBudget = uint64(24 * time.Hour / time.Microsecond)

func hasSession(k core.Kind) bool {
	return k == core.KindRequest || k == core.KindCall || k == core.KindReply
}

// appendMessage appends the envelope of m and its encoded arguments.
func appendMessage(b []byte, m *core.Message, reg *codec.Registry) ([]byte, error) {
	if m.Kind < core.KindSend || m.Kind > core.KindClose {
		return b, fmt.Errorf("encoding message of kind %d: %w", m.Kind, ErrBadFrame)
	}
	budget := !m.Deadline.IsZero() && (m.Kind == core.KindCall || m.Kind == core.KindRequest)
	if budget {
		b = append(b, byte(m.Kind)|flagBudget)
	} else {
		b = append(b, byte(m.Kind))
	}
	b = appendID(b, m.To)
	b = appendID(b, m.From)
	if hasSession(m.Kind) {
		b = codec.AppendUvarint(b, m.Session)
	}
	if budget {
		left := time.Until(m.Deadline) // spent: 0, and the receiver refuses it
		b = codec.AppendUvarint(b, min(uint64(max(left, 0)/time.Microsecond), maxBudget))
	}
	if m.Kind == core.KindReply {
		e := m.Err
		if len(e) > maxErrLen {
			e = e[:maxErrLen]
		}
		b = codec.AppendString(b, e)
		if e != "" {
			b = codec.AppendUvarint(b, uint64(m.Code))
		}
	} else {
		if len(m.Cmd) > maxCmdLen {
			return b, fmt.Errorf("encoding command of %d bytes (max %d): %w", len(m.Cmd), maxCmdLen, core.ErrTooLarge)
		}
		b = codec.AppendString(b, m.Cmd)
	}
	out, err := reg.AppendArgs(b, m.Args)
	if err != nil {
		return b, fmt.Errorf("encoding arguments of %q: %w", m.Cmd, err)
	}
	return out, nil
}

// wireReader reads the envelope fields, remembering the first error.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) > 0 && r.b[0] < 0x80 { // one byte: small ids, sessions, lengths
		v := uint64(r.b[0])
		r.b = r.b[1:]
		return v
	}
	v, n, err := codec.ReadUvarint(r.b)
	if err != nil {
		r.err = err
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) str(maxLen int) string {
	if r.err != nil {
		return ""
	}
	s, n, err := codec.ReadString(r.b, maxLen)
	if err != nil {
		r.err = err
		return ""
	}
	r.b = r.b[n:]
	return s
}

func (r *wireReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = codec.ErrTruncated
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *wireReader) id() core.ServiceID {
	node := r.uvarint()
	inc := r.uvarint()
	index := r.uvarint()
	if r.err == nil && (node > 0xffff || inc > 0xffff || index > 0xffffffff) {
		r.err = fmt.Errorf("service id %d:%d@%d out of range", node, index, inc)
	}
	return core.MakeIncID(core.NodeID(node), core.Incarnation(inc), uint32(index))
}

// cmdCache interns command names read from the wire: a service's commands
// are few and repeat, so decoding one allocates no string. Readers load an
// immutable map without locking; a new name copies the map.
type cmdCache struct {
	m    atomic.Pointer[map[string]*string]
	last atomic.Pointer[string] // the name seen last: a stream repeats one command
	mu   sync.Mutex             // serialises writers
}

// maxCachedCmds bounds the cache against a peer sending endless new names.
const maxCachedCmds = 1024

func (c *cmdCache) intern(b []byte) string {
	if l := c.last.Load(); l != nil && *l == string(b) {
		return *l
	}
	if m := c.m.Load(); m != nil {
		if p, ok := (*m)[string(b)]; ok {
			c.last.Store(p)
			return *p
		}
	}
	s := string(b)
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	next := map[string]*string{}
	if old != nil && len(*old) < maxCachedCmds {
		next = make(map[string]*string, len(*old)+1)
		for k, v := range *old {
			next[k] = v
		}
	}
	next[s] = &s
	c.m.Store(&next)
	return s
}

// cmd reads a command name, interned through cache when not nil.
func (r *wireReader) cmd(cache *cmdCache) string {
	if cache == nil {
		return r.str(maxCmdLen)
	}
	l := r.uvarint()
	if r.err != nil {
		return ""
	}
	if l > maxCmdLen || l > uint64(len(r.b)) {
		r.err = fmt.Errorf("command of %d bytes in %d", l, len(r.b))
		return ""
	}
	s := cache.intern(r.b[:l])
	r.b = r.b[l:]
	return s
}

// decodeMessage decodes a data frame payload. It never panics.
func decodeMessage(b []byte, reg *codec.Registry) (*core.Message, error) {
	return decodeMessageCached(b, reg, nil)
}

func decodeMessageCached(b []byte, reg *codec.Registry, cmds *cmdCache) (*core.Message, error) {
	m := &core.Message{}
	if err := decodeMessageInto(m, b, reg, cmds, nil); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeMessageInto decodes a data frame payload into m, which must be zero.
// The arguments are decoded into args's storage when it has room.
func decodeMessageInto(m *core.Message, b []byte, reg *codec.Registry, cmds *cmdCache, args []any) error {
	rest, err := decodeHeader(m, b, cmds)
	if err != nil {
		return err
	}
	return decodeArgs(m, rest, reg, args)
}

// decodeArgs decodes the encoded arguments rest of m into m.Args, using
// args's storage when it has room.
func decodeArgs(m *core.Message, rest []byte, reg *codec.Registry, args []any) error {
	args, err := reg.DecodeArgsInto(args, rest)
	if err != nil {
		return fmt.Errorf("%w: %w: arguments of %q: %w", ErrBadFrame, errBadArgs, m.Cmd, err)
	}
	m.Args = args
	return nil
}

// decodeHeader decodes everything of a data frame payload but the
// arguments into m, which must be zero, and returns the encoded arguments.
func decodeHeader(m *core.Message, b []byte, cmds *cmdCache) ([]byte, error) {
	r := wireReader{b: b}
	kb := r.byte()
	budget := kb&flagBudget != 0
	m.Kind = core.Kind(kb &^ flagBudget)
	if r.err == nil && (m.Kind < core.KindSend || m.Kind > core.KindClose || budget && m.Kind != core.KindCall && m.Kind != core.KindRequest) {
		return nil, fmt.Errorf("%w: %w %d", ErrBadFrame, errUnknownKind, kb)
	}
	m.To = r.id()
	m.From = r.id()
	if hasSession(m.Kind) {
		m.Session = r.uvarint()
	}
	if budget {
		if us := r.uvarint(); r.err == nil {
			m.Deadline = time.Now().Add(time.Duration(min(us, maxBudget)) * time.Microsecond)
		}
	}
	if m.Kind == core.KindReply {
		m.Err = r.str(maxErrLen)
		if m.Err != "" {
			if code := r.uvarint(); code <= 0xff {
				m.Code = core.ErrorCode(code)
			}
		}
	} else {
		m.Cmd = r.cmd(cmds)
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadFrame, r.err)
	}
	return r.b, nil
}

// CallFrameSize returns the bytes on the wire (frame header included) of a
// remote Call(svc, "echo", 42) between two services with small ids, the
// figure the benchmarks report.
func CallFrameSize() int {
	m := core.Message{Kind: core.KindCall, To: core.MakeIncID(3, 1000, 1), From: core.MakeIncID(2, 2000, 0), Session: 1, Cmd: "echo", Args: []any{42}}
	b, err := appendMessage(nil, &m, codec.NewRegistry())
	if err != nil {
		return -1
	}
	return transport.HeaderSize + len(b)
}
