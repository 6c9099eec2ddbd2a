package cluster

import (
	"fmt"

	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/core"
)

// CtlType says what a control message is. Control frames start with a byte
// >= ctlBase, data frames with a core.Kind (< ctlBase).
type CtlType byte

const ctlBase = 0x80

// Control message types.
const (
	// CtlRegister: node → master, join or re-join (ID is the id wanted, Names
	// the global names the node holds).
	CtlRegister CtlType = ctlBase + iota
	// CtlWelcome: master → node, registration accepted (ID assigned, Nodes
	// and Names the full tables).
	CtlWelcome
	// CtlRefuse: master → node, registration refused (Err says why).
	CtlRefuse
	// CtlNodeUp: master → all, a node joined (Nodes[0]).
	CtlNodeUp
	// CtlNodeDown: master → all, node ID is down with all its names; with
	// Err == NodeGone it is also removed from the node table.
	CtlNodeDown
	// CtlNameAdd: node → master (request, Seq set) and master → all (push).
	CtlNameAdd
	// CtlNameDel: node → master and master → all.
	CtlNameDel
	// CtlAck: master → node, answer to the request Seq (Err empty on success).
	CtlAck
	// CtlHeartbeat: both ways between master and node.
	CtlHeartbeat
	// CtlLeave: node → master, graceful leave.
	CtlLeave
	// CtlDraining: node → master, phase 1 of a graceful leave: route no new
	// work to me. The master pushes the node's entry (Draining set) to all.
	CtlDraining
	// CtlMore: the next page of the Nodes or Names of the message before it on the
	// same connection (a table too large for one frame); More on the last
	// page is false.
	CtlMore
	ctlEnd
)

// Node roles beyond contract.RoleMaster and contract.RoleSlave.
const (
	// RoleClient is a light node (lotouctl): it gets an id and may call
	// services, but holds no names and is not listed in the cluster view.
	RoleClient = "client"
)

// NodeEntry describes a member of the cluster on the wire.
type NodeEntry struct {
	ID   uint16
	Name string
	Addr string
	Role string
	Up   bool
	// Draining: the node is leaving gracefully; no new work goes to it.
	Draining bool
	// Inc is the node process's incarnation (see Options.Incarnation).
	Inc uint64
}

// NameEntry is one global name on the wire.
type NameEntry struct {
	Name string
	ID   uint64
}

// Control is a control message. Which fields matter depends on Type.
type Control struct {
	Type    CtlType
	Seq     uint64
	ID      uint16
	Name    string
	Addr    string
	Role    string
	Service uint64
	Err     string
	// Heartbeat is the cluster's heartbeat interval in nanoseconds (Welcome):
	// every node beats at the master's pace.
	Heartbeat uint64
	// Inc is the sender's incarnation (Register) or the node's (Welcome).
	Inc uint64
	// Code qualifies Err: a core.ErrorCode in an Ack, a Refuse* reason in a
	// Refuse.
	Code uint64
	// More says that CtlMore pages with the rest of Names follow.
	More  bool
	Nodes []NodeEntry
	Names []NameEntry
}

// Reasons of a CtlRefuse (Control.Code).
const (
	// RefuseOther: see Err.
	RefuseOther uint64 = iota
	// RefuseDuplicate: a live node already runs under this name.
	RefuseDuplicate
)

const (
	// MaxNameLen is the longest global or node name the wire carries;
	// Register refuses longer names with core.ErrTooLarge.
	MaxNameLen   = 1024
	maxCtlString = MaxNameLen
	maxCtlList   = 1 << 20
	// maxTableBytes bounds the memory a paged message being assembled takes
	// (its pages and the messages held behind it, counted as decoded, see
	// decodedSize), against a peer sending pages or held messages for ever:
	// a million names of 100 bytes fit.
	maxTableBytes = 128 << 20
	// PageBytes bounds the encoded size of one control frame's Names: a
	// table larger than that goes in CtlMore pages, so any table fits the
	// transport's frame limit.
	PageBytes = 256 << 10
)

// checkControl verifies, before anything is sent, that c fits what the
// receiving side accepts.
func checkControl(c *Control) error {
	for _, s := range []string{c.Name, c.Addr, c.Role, c.Err} {
		if len(s) > maxCtlString {
			return fmt.Errorf("control string of %d bytes (max %d): %w", len(s), maxCtlString, core.ErrTooLarge)
		}
	}
	if len(c.Nodes) > maxCtlList {
		return fmt.Errorf("%d node entries (max %d): %w", len(c.Nodes), maxCtlList, core.ErrTooLarge)
	}
	for _, n := range c.Nodes {
		if len(n.Name) > maxCtlString || len(n.Addr) > maxCtlString || len(n.Role) > maxCtlString {
			return fmt.Errorf("node entry %d: string too long: %w", n.ID, core.ErrTooLarge)
		}
	}
	for _, n := range c.Names {
		if len(n.Name) > maxCtlString {
			return fmt.Errorf("name of %d bytes (max %d): %w", len(n.Name), maxCtlString, core.ErrTooLarge)
		}
	}
	return nil
}

// encodeControl checks c and encodes it as one or more frame payloads: the
// message itself with as many Nodes and Names as fit PageBytes each, then
// CtlMore pages with the rest of the Nodes, then with the rest of the Names.
func encodeControl(c *Control) ([][]byte, error) {
	if len(c.Err) > maxCtlString { // an explanation: cut, never refused
		cut := *c
		cut.Err = c.Err[:maxCtlString]
		c = &cut
	}
	if err := checkControl(c); err != nil {
		return nil, fmt.Errorf("encoding control %#x: %w", byte(c.Type), err)
	}
	nodePages := splitPages(c.Nodes, nodeWireSize, PageBytes)
	namePages := splitPages(c.Names, nameWireSize, PageBytes)
	if len(nodePages) <= 1 && len(namePages) <= 1 {
		return [][]byte{appendControl(nil, c)}, nil
	}
	first := *c
	first.Nodes, first.Names, first.More = nodePages[0], nil, true
	var rest []*Control
	for _, p := range nodePages[1:] {
		rest = append(rest, &Control{Type: CtlMore, Nodes: p})
	}
	if len(nodePages) == 1 {
		first.Names, namePages = namePages[0], namePages[1:]
	}
	for _, p := range namePages {
		if len(p) > 0 {
			rest = append(rest, &Control{Type: CtlMore, Names: p})
		}
	}
	out := make([][]byte, 0, 1+len(rest))
	out = append(out, appendControl(nil, &first))
	for i, p := range rest {
		p.More = i < len(rest)-1
		out = append(out, appendControl(nil, p))
	}
	return out, nil
}

// nameWireSize bounds the encoded size of a name entry.
func nameWireSize(n NameEntry) int { return len(n.Name) + 2*binaryUvarintMax }

// nodeWireSize bounds the encoded size of a node entry.
func nodeWireSize(n NodeEntry) int {
	return len(n.Name) + len(n.Addr) + len(n.Role) + 5*binaryUvarintMax + 1
}

// splitPages cuts items into pages of at most limit encoded bytes each
// (one page, maybe empty, at least).
func splitPages[T any](items []T, size func(T) int, limit int) [][]T {
	var pages [][]T
	start, total := 0, 0
	for i, it := range items {
		sz := size(it)
		if total+sz > limit && i > start {
			pages = append(pages, items[start:i])
			start, total = i, 0
		}
		total += sz
	}
	if start < len(items) || len(pages) == 0 {
		pages = append(pages, items[start:])
	}
	return pages
}

// binaryUvarintMax is the largest size of a uvarint.
const binaryUvarintMax = 10

// assembler joins a paged control message (a message with More, then its
// CtlMore pages) received on one connection. Other messages that arrive
// while pages are awaited (frames queued before a registration went out
// ahead of its later pages) are held and handed out after the joined
// message, so it keeps its place first.
type assembler struct {
	msg       *Control
	pages     [][]NameEntry // the Names of the pages so far, joined once at the end
	nodePages [][]NodeEntry // and their Nodes
	bytes     int
	held      []*Control
}

// maxHeld bounds the messages held while a paged message is assembled.
const maxHeld = 1 << 14

// add takes the next control message of the connection and returns the
// messages ready to handle, in order (none while pages are awaited).
func (a *assembler) add(c *Control) ([]*Control, error) {
	switch {
	case c.Type == CtlMore:
		if a.msg == nil {
			return nil, fmt.Errorf("%w: a page with nothing before it", ErrBadFrame)
		}
		if a.bytes += decodedSize(c); a.bytes > maxTableBytes {
			a.reset()
			return nil, fmt.Errorf("%w: paged message above %d bytes", ErrBadFrame, maxTableBytes)
		}
		a.pages, a.nodePages = append(a.pages, c.Names), append(a.nodePages, c.Nodes)
		if c.More {
			return nil, nil
		}
		out := append([]*Control{a.msg}, a.held...)
		out[0].More = false
		out[0].Names = joinPages(out[0].Names, a.pages)
		out[0].Nodes = joinPages(out[0].Nodes, a.nodePages)
		a.reset()
		return out, nil
	case a.msg != nil:
		if a.bytes += decodedSize(c); len(a.held) >= maxHeld || c.More || a.bytes > maxTableBytes {
			err := fmt.Errorf("%w: %d messages (%d bytes) while a paged message is incomplete", ErrBadFrame, len(a.held)+1, a.bytes)
			a.reset()
			return nil, err
		}
		a.held = append(a.held, c)
		return nil, nil
	case c.More:
		a.msg, a.bytes = c, decodedSize(c)
		return nil, nil
	default:
		return []*Control{c}, nil
	}
}

// joinPages appends the pages to first in one allocation.
func joinPages[T any](first []T, pages [][]T) []T {
	n := len(first)
	for _, p := range pages {
		n += len(p)
	}
	if n == len(first) {
		return first
	}
	out := make([]T, 0, n)
	out = append(out, first...)
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func (a *assembler) reset() { a.msg, a.pages, a.nodePages, a.bytes, a.held = nil, nil, nil, 0, nil }

// Sizes of the decoded structs on 64-bit platforms (pinned by
// TestDecodedSizes): a list entry costs its struct, not its wire bytes,
// which may be as few as 2.
const (
	controlStructSize   = 176
	nodeEntryStructSize = 72
	nameEntryStructSize = 24
)

// decodedSize is about the memory c takes once decoded.
func decodedSize(c *Control) int {
	n := controlStructSize + len(c.Name) + len(c.Addr) + len(c.Role) + len(c.Err) +
		len(c.Nodes)*nodeEntryStructSize + len(c.Names)*nameEntryStructSize
	for _, e := range c.Nodes {
		n += len(e.Name) + len(e.Addr) + len(e.Role)
	}
	for _, e := range c.Names {
		n += len(e.Name)
	}
	return n
}

// appendControl encodes c; every field is written, in a fixed order.
func appendControl(b []byte, c *Control) []byte {
	b = append(b, byte(c.Type))
	b = codec.AppendUvarint(b, c.Seq)
	b = codec.AppendUvarint(b, uint64(c.ID))
	b = codec.AppendString(b, c.Name)
	b = codec.AppendString(b, c.Addr)
	b = codec.AppendString(b, c.Role)
	b = codec.AppendUvarint(b, c.Service)
	b = codec.AppendString(b, c.Err)
	b = codec.AppendUvarint(b, c.Heartbeat)
	b = codec.AppendUvarint(b, c.Inc)
	b = codec.AppendUvarint(b, c.Code)
	more := byte(0)
	if c.More {
		more = 1
	}
	b = append(b, more)
	b = codec.AppendUvarint(b, uint64(len(c.Nodes)))
	for _, n := range c.Nodes {
		b = codec.AppendUvarint(b, uint64(n.ID))
		b = codec.AppendString(b, n.Name)
		b = codec.AppendString(b, n.Addr)
		b = codec.AppendString(b, n.Role)
		flags := byte(0)
		if n.Up {
			flags |= nodeUp
		}
		if n.Draining {
			flags |= nodeDraining
		}
		b = append(b, flags)
		b = codec.AppendUvarint(b, n.Inc)
	}
	b = codec.AppendUvarint(b, uint64(len(c.Names)))
	for _, n := range c.Names {
		b = codec.AppendString(b, n.Name)
		b = codec.AppendUvarint(b, n.ID)
	}
	return b
}

// NodeEntry flags on the wire.
const (
	nodeUp       = 1
	nodeDraining = 2
)

func (r *wireReader) u16() uint16 {
	v := r.uvarint()
	if r.err == nil && v > 0xffff {
		r.err = fmt.Errorf("node id %d out of range", v)
	}
	return uint16(v)
}

// count reads a list length and checks it against the bytes left, each
// element taking at least minSize bytes.
func (r *wireReader) count(minSize int) int {
	v := r.uvarint()
	if r.err == nil && (v > maxCtlList || v*uint64(minSize) > uint64(len(r.b))) {
		r.err = fmt.Errorf("list of %d elements in %d bytes", v, len(r.b))
	}
	if r.err != nil {
		return 0
	}
	return int(v)
}

// decodeControl decodes a control frame payload. It never panics.
func decodeControl(b []byte) (*Control, error) {
	r := wireReader{b: b}
	c := &Control{Type: CtlType(r.byte())}
	if r.err == nil && (c.Type < CtlRegister || c.Type >= ctlEnd) {
		return nil, fmt.Errorf("%w: control type %#x", ErrBadFrame, byte(c.Type))
	}
	c.Seq = r.uvarint()
	c.ID = r.u16()
	c.Name = r.str(maxCtlString)
	c.Addr = r.str(maxCtlString)
	c.Role = r.str(maxCtlString)
	c.Service = r.uvarint()
	c.Err = r.str(maxCtlString)
	c.Heartbeat = r.uvarint()
	c.Inc = r.uvarint()
	c.Code = r.uvarint()
	c.More = r.byte() == 1
	if n := r.count(6); n > 0 {
		c.Nodes = make([]NodeEntry, n)
		for i := range c.Nodes {
			e := &c.Nodes[i]
			e.ID = r.u16()
			e.Name = r.str(maxCtlString)
			e.Addr = r.str(maxCtlString)
			e.Role = r.str(maxCtlString)
			flags := r.byte()
			e.Up, e.Draining = flags&nodeUp != 0, flags&nodeDraining != 0
			e.Inc = r.uvarint()
		}
	}
	if n := r.count(2); n > 0 {
		c.Names = make([]NameEntry, n)
		for i := range c.Names {
			c.Names[i].Name = r.str(maxCtlString)
			c.Names[i].ID = r.uvarint()
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = codec.ErrTrailing
	}
	if r.err != nil {
		return nil, fmt.Errorf("%w: control: %w", ErrBadFrame, r.err)
	}
	return c, nil
}
