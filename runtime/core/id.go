package core

import "fmt"

// NodeID identifies a node of a cluster; it is the high 16 bits of every
// ServiceID, so the core can route from an id alone.
type NodeID uint16

// ServiceID is the address of a service: NodeID in the high 16 bits and a
// per-node counter, never reused, in the low 48 bits.
type ServiceID uint64

const (
	seqBits = 48
	seqMask = 1<<seqBits - 1
)

// MakeID builds a ServiceID from a node and a per-node counter. Counter 0 is
// the node itself (callers outside any service).
func MakeID(node NodeID, seq uint64) ServiceID {
	return ServiceID(uint64(node)<<seqBits | seq&seqMask)
}

// Node returns the node the service lives on.
func (id ServiceID) Node() NodeID { return NodeID(uint64(id) >> seqBits) }

// Seq returns the per-node counter part of the id.
func (id ServiceID) Seq() uint64 { return uint64(id) & seqMask }

// IsNodeID reports whether id addresses the node itself rather than a
// service: replies to code running outside any service go there.
func (id ServiceID) IsNodeID() bool { return id.Seq() == 0 }

// String formats the id as node:counter, e.g. "1:42".
func (id ServiceID) String() string { return fmt.Sprintf("%d:%d", id.Node(), id.Seq()) }
