package core

import "context"

// Remote is the hook through which the cluster carries messages to other
// nodes. The core calls Deliver when a message's target lives on another
// node. Deliver must not block long (queue and return); an error such as a
// full send queue or an unknown node goes straight back to the sender. m is
// lent: it and its Args slice are valid only during the call (the core
// reuses them afterwards), so a Remote that keeps anything must copy it
// (the cluster encodes m before returning). The other node's transport hands it to that node's
// Core.DeliverLocal; replies come back the same way and are matched by
// Session (a reply To a node id, counter 0, answers code outside services).
type Remote interface {
	Deliver(m *Message) error
}

// Registry holds global names (those not starting with "."). A standalone
// node uses LocalRegistry; the cluster puts the master behind its own
// implementation. Register refuses a name held by another id with an error
// wrapping ErrNameTaken; Lookup of an unknown name wraps ErrServiceNotFound.
type Registry interface {
	Register(ctx context.Context, name string, id ServiceID) error
	Unregister(ctx context.Context, name string, id ServiceID) error
	Lookup(ctx context.Context, name string) (ServiceID, error)
}

// QuickRegistry is a Registry that can answer some lookups without waiting
// (from a local cache): LookupNow reports done with the id or a final error
// (such as ErrNodeDown for a name whose node is known to be down), or not
// done when the name must be waited for. Service.Lookup suspends the
// handler (the service goes on serving) only when it is not done.
type QuickRegistry interface {
	Registry
	LookupNow(name string) (id ServiceID, done bool, err error)
}
