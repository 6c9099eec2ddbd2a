package cluster

import (
	"fmt"

	"github.com/lotou-io/lotou/runtime/codec"
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
	Nodes     []NodeEntry
	Names     []NameEntry
}

const (
	maxCtlString = 1024
	maxCtlList   = 1 << 20
)

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
	b = codec.AppendUvarint(b, uint64(len(c.Nodes)))
	for _, n := range c.Nodes {
		b = codec.AppendUvarint(b, uint64(n.ID))
		b = codec.AppendString(b, n.Name)
		b = codec.AppendString(b, n.Addr)
		b = codec.AppendString(b, n.Role)
		up := byte(0)
		if n.Up {
			up = 1
		}
		b = append(b, up)
	}
	b = codec.AppendUvarint(b, uint64(len(c.Names)))
	for _, n := range c.Names {
		b = codec.AppendString(b, n.Name)
		b = codec.AppendUvarint(b, n.ID)
	}
	return b
}

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
	if n := r.count(5); n > 0 {
		c.Nodes = make([]NodeEntry, n)
		for i := range c.Nodes {
			e := &c.Nodes[i]
			e.ID = r.u16()
			e.Name = r.str(maxCtlString)
			e.Addr = r.str(maxCtlString)
			e.Role = r.str(maxCtlString)
			e.Up = r.byte() == 1
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
