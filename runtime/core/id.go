package core

import "fmt"

// NodeID identifies a node of a cluster; it is the high 16 bits of every
// ServiceID, so the core can route from an id alone.
type NodeID uint16

// Incarnation tells apart the successive processes that run under one
// NodeID (a restarted master is node 1 again). It is the middle 16 bits of
// every ServiceID the process hands out, so an id cached from an earlier
// process never reaches a service of a later one: the core refuses it with
// ErrStaleID. 0 means "no incarnation" (a standalone core, tests).
type Incarnation uint16

// ServiceID is the address of a service: NodeID in the high 16 bits, the
// node process's Incarnation in the next 16 and a per-process counter,
// never reused, in the low 32. Seq returns the low 48 bits (incarnation and
// counter) together.
type ServiceID uint64

const (
	seqBits   = 48
	seqMask   = 1<<seqBits - 1
	indexBits = 32
	indexMask = 1<<indexBits - 1
	// MaxIncarnation is the largest incarnation tag the cluster hands out:
	// tags fit 14 bits, so they cost at most two bytes on the wire.
	MaxIncarnation Incarnation = 1<<14 - 1
)

// MakeID builds a ServiceID from a node and a 48-bit counter (incarnation
// and index together). Index 0 is the node itself (callers outside any
// service).
func MakeID(node NodeID, seq uint64) ServiceID {
	return ServiceID(uint64(node)<<seqBits | seq&seqMask)
}

// MakeIncID builds a ServiceID from its three parts.
func MakeIncID(node NodeID, inc Incarnation, index uint32) ServiceID {
	return MakeID(node, uint64(inc)<<indexBits|uint64(index))
}

// Node returns the node the service lives on.
func (id ServiceID) Node() NodeID { return NodeID(uint64(id) >> seqBits) }

// Seq returns the low 48 bits of the id: incarnation and index.
func (id ServiceID) Seq() uint64 { return uint64(id) & seqMask }

// Incarnation returns the incarnation of the node process that made the id.
func (id ServiceID) Incarnation() Incarnation { return Incarnation(id.Seq() >> indexBits) }

// Index returns the per-process counter part of the id.
func (id ServiceID) Index() uint32 { return uint32(uint64(id) & indexMask) }

// IsNodeID reports whether id addresses the node itself rather than a
// service: replies to code running outside any service go there.
func (id ServiceID) IsNodeID() bool { return id.Index() == 0 }

// String formats the id as node:index, e.g. "1:42", followed by
// "@incarnation" when there is one ("1:42@907").
func (id ServiceID) String() string {
	if inc := id.Incarnation(); inc != 0 {
		return fmt.Sprintf("%d:%d@%d", id.Node(), id.Index(), inc)
	}
	return fmt.Sprintf("%d:%d", id.Node(), id.Index())
}
