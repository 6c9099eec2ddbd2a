package core

import (
	"errors"
	"sync/atomic"
)

// DropReason says why a message that nobody waits for (a Send, an event, a
// reply that came too late to matter) was dropped instead of delivered.
// Calls and Requests are never dropped silently: they get an error reply.
type DropReason uint8

// Drop reasons, counted by Core.Drops and exported by the node as
// lotou_messages_dropped_total{reason}.
const (
	// DropMailboxFull: a Send from another node found the mailbox full.
	DropMailboxFull DropReason = iota
	// DropNotFound: a Send from another node named no service.
	DropNotFound
	// DropStopped: a Send from another node reached a stopping service.
	DropStopped
	// DropWrongNode: a message from another node was addressed to another
	// node id.
	DropWrongNode
	// DropStaleID: a message was addressed to an earlier incarnation.
	DropStaleID
	// DropDecode: a message's arguments did not decode (unknown type, limit
	// exceeded, kind mismatch).
	DropDecode
	// DropUnknownKind: a frame of an unknown message kind.
	DropUnknownKind
	// DropEventOverflow: a cluster event for a subscriber that already had
	// its bound of undelivered events (see Service.Subscribe).
	DropEventOverflow
	// DropDraining: a Send to a node that is leaving.
	DropDraining
	// DropForeignReply: a reply from another node than the one the Call
	// or Request went to (a forged or misrouted reply); the caller keeps
	// waiting for the real one.
	DropForeignReply
	numDropReasons
)

var dropNames = [numDropReasons]string{
	"mailbox_full", "not_found", "stopped", "wrong_node", "stale_id", "decode", "unknown_kind",
	"event_overflow", "draining", "foreign_reply",
}

// String returns the reason's metric label.
func (r DropReason) String() string {
	if r < numDropReasons {
		return dropNames[r]
	}
	return "unknown"
}

// DropReasons lists every reason, for exporting the counters.
func DropReasons() []DropReason {
	out := make([]DropReason, numDropReasons)
	for i := range out {
		out[i] = DropReason(i)
	}
	return out
}

// drops counts dropped messages by reason.
type drops [numDropReasons]atomic.Uint64

// Drop counts one message dropped for reason r. The cluster calls it for
// the frames it drops before they reach the core.
func (c *Core) Drop(r DropReason) {
	if r < numDropReasons {
		c.drops[r].Add(1)
	}
}

// Drops returns how many messages were dropped for reason r.
func (c *Core) Drops(r DropReason) uint64 {
	if r < numDropReasons {
		return c.drops[r].Load()
	}
	return 0
}

// dropReasonOf maps a delivery error to its drop reason.
func dropReasonOf(err error) DropReason {
	switch {
	case errors.Is(err, ErrMailboxFull):
		return DropMailboxFull
	case errors.Is(err, ErrServiceNotFound):
		return DropNotFound
	case errors.Is(err, ErrNodeDraining):
		return DropDraining
	case errors.Is(err, ErrStaleID):
		return DropStaleID
	default:
		return DropStopped
	}
}
