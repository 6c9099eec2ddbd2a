package core

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// route delivers m to a local mailbox or, for another node, to Remote.
// force is for internal traffic (see mailbox.push).
func (c *Core) route(m *Message, args []any, force bool) error {
	if m.To.Node() != c.node {
		return c.deliverRemote(m, args)
	}
	s := c.table.get(m.To)
	if s == nil {
		return c.notFound("delivering", m.Cmd, m.To)
	}
	if m.Kind == KindClose {
		return s.closeBy(m, args)
	}
	return s.mb.push(m, args, force)
}

// send is the hot path of Send and SendWait: a local target gets the
// message without building a Message first.
func (c *Core) send(ctx context.Context, from, to ServiceID, cmd string, args []any, wait bool) error {
	if to.Node() == c.node {
		s := c.table.get(to)
		if s == nil {
			return c.notFound("sending", cmd, to)
		}
		err := s.mb.put(KindSend, from, 0, cmd, args, nil, nil, false)
		if wait && err != nil && errors.Is(err, ErrMailboxFull) { // the closure only on the slow path
			err = s.mb.sendWait(ctx, func() error { return s.mb.put(KindSend, from, 0, cmd, args, nil, nil, false) })
		}
		if err != nil {
			return fmt.Errorf("sending %q to %v: %w", cmd, to, err)
		}
		return nil
	}
	m := Message{Kind: KindSend, From: from, To: to, Cmd: cmd}
	return c.deliverRemote(&m, args)
}

// sendInt is send with one unboxed int argument (see Core.SendInt).
func (c *Core) sendInt(ctx context.Context, from, to ServiceID, cmd string, n int, wait bool) error {
	if to.Node() != c.node {
		m := Message{Kind: KindSend, From: from, To: to, Cmd: cmd}
		return c.deliverRemote(&m, []any{n})
	}
	s := c.table.get(to)
	if s == nil {
		return c.notFound("sending", cmd, to)
	}
	err := s.mb.putInt(from, cmd, n)
	if wait && err != nil && errors.Is(err, ErrMailboxFull) {
		err = s.mb.sendWait(ctx, func() error { return s.mb.putInt(from, cmd, n) })
	}
	if err != nil {
		return fmt.Errorf("sending %q to %v: %w", cmd, to, err)
	}
	return nil
}

// notFound explains why no local service has id: an id of an earlier
// incarnation of this node gets ErrStaleID, any other ErrServiceNotFound.
func (c *Core) notFound(what, cmd string, id ServiceID) error {
	if id.Incarnation() != c.inc {
		return fmt.Errorf("%s %q to %v: this node is incarnation %d: %w", what, cmd, id, c.inc, ErrStaleID)
	}
	return fmt.Errorf("%s %q to %v: %w", what, cmd, id, ErrServiceNotFound)
}

// routeFrom routes a Call or Request of service s, registering remote
// sessions so that FailNode can fail them.
func (c *Core) routeFrom(s *Service, m *Message, args []any) error {
	if m.To.Node() == c.node {
		return c.route(m, args, false)
	}
	c.pending.add(m.Session, pendingEntry{node: m.To.Node(), svc: s})
	if err := c.deliverRemote(m, args); err != nil {
		c.pending.take(m.Session)
		return err
	}
	return nil
}

// outMsg is a message lent to Remote.Deliver, with room for its arguments:
// reused through outPool, so handing a message to the cluster allocates
// nothing (the Remote encodes it before Deliver returns).
type outMsg struct {
	m    Message
	args [4]any
}

var outPool = sync.Pool{New: func() any { return new(outMsg) }}

// deliverRemote lends the Remote hook a copy of m with arguments args, valid
// only during the call. The copy keeps args (often a caller's variadic
// slice) from escaping.
func (c *Core) deliverRemote(m *Message, args []any) error {
	rb := c.remote.Load()
	if rb == nil {
		return fmt.Errorf("delivering %q to %v: no remote transport: %w", m.Cmd, m.To, ErrNodeDown)
	}
	o := outPool.Get().(*outMsg)
	o.m = Message{Kind: m.Kind, From: m.From, To: m.To, Session: m.Session, Cmd: m.Cmd, Err: m.Err, Code: m.Code, Deadline: m.Deadline}
	if len(args) > 0 {
		o.m.Args = append(o.args[:0], args...)
	}
	err := rb.r.Deliver(&o.m)
	clear(o.args[:])
	o.m = Message{}
	outPool.Put(o)
	if err != nil {
		return fmt.Errorf("delivering %q to %v: %w", m.Cmd, m.To, err)
	}
	return nil
}

// DeliverLocal routes a message that arrived from another node. Replies go
// to whoever waits for that session (a late or unknown reply is dropped).
// If a Call or Request cannot be delivered (no such service, an id of an
// earlier incarnation, another node's id, mailbox full, stopped), the core
// itself sends the error reply, naming the reason, back through Remote; the
// returned error is then only informational. A Send that cannot be
// delivered is counted by reason (Drops).
//
// DeliverLocal keeps neither m nor, except for a KindReply (whose Args are
// handed to the caller), m.Args: the caller may reuse them once it returns.
func (c *Core) DeliverLocal(m *Message) error {
	if m == nil {
		return fmt.Errorf("delivering nil message: %w", ErrBadArgs)
	}
	m.w, m.err = nil, nil
	if m.To.Node() != c.node {
		err := fmt.Errorf("delivering %q to %v on node %d: %w: addressed to another node", m.Cmd, m.To, c.node, ErrUndeliverable)
		c.Refuse(m, err, DropWrongNode)
		return err
	}
	switch m.Kind {
	case KindReply:
		if m.To.Incarnation() != c.inc {
			c.Drop(DropStaleID) // for a session of an earlier process
			return nil
		}
		pe, ok, foreign := c.pending.takeFrom(m.Session, m.From.Node())
		if foreign {
			c.Drop(DropForeignReply) // only the node the Call went to answers it
			return nil
		}
		if !ok {
			return nil // timed out or failed already
		}
		c.completeEntry(m.Session, pe, m.Args, m.replyErr())
		return nil
	case KindSend, KindCall, KindRequest, KindClose:
		err := c.route(m, m.Args, false)
		if err != nil {
			c.Refuse(m, err, dropReasonOf(err))
		}
		return err
	case KindEvent:
		if len(m.Args) == 1 {
			if ev, ok := m.Args[0].(Event); ok {
				c.Publish(ev)
				return nil
			}
		}
		return fmt.Errorf("delivering event: %w", ErrBadArgs)
	default:
		err := fmt.Errorf("delivering message of kind %d: %w", m.Kind, ErrUndeliverable)
		c.Refuse(m, err, DropUnknownKind)
		return err
	}
}

// Refuse answers a message from another node that will not be delivered:
// a Call or Request gets an error reply carrying err (its text and code), a
// Send is counted as dropped for reason. The cluster calls it for frames it
// cannot hand to DeliverLocal (arguments that do not decode).
func (c *Core) Refuse(m *Message, err error, reason DropReason) {
	if !m.expectsReply() {
		if m.Kind != KindReply {
			c.Drop(reason)
		}
		return
	}
	r := Message{Kind: KindReply, From: m.To, To: m.From, Session: m.Session, Err: err.Error(), Code: CodeOf(err)}
	if r.To.Node() == c.node {
		if r.To.Incarnation() == c.inc {
			if pe, ok := c.pending.take(r.Session); ok {
				c.completeEntry(r.Session, pe, nil, err)
			}
		}
		return
	}
	if rerr := c.deliverRemote(&r, nil); rerr != nil {
		c.log.V(1).Info("Error reply not delivered", "to", m.From, "err", rerr)
	}
}

// sendReply answers m (a Call or Request) with ret or err.
func (c *Core) sendReply(from ServiceID, m *envelope, ret []any, err error) {
	if m.w != nil {
		m.w.complete(ret, err)
		return
	}
	if !m.expectsReply() {
		return
	}
	r := Message{Kind: KindReply, From: from, To: m.from, Session: m.session, err: err}
	if err != nil {
		r.Err, r.Code = err.Error(), CodeOf(err)
	}
	if r.To.Node() != c.node {
		if derr := c.deliverRemote(&r, ret); derr != nil {
			c.log.V(1).Info("Reply not delivered", "to", r.To, "err", derr)
		}
		return
	}
	s := c.table.get(r.To)
	if s == nil {
		return // the requester has gone; it failed its own pending work
	}
	if perr := s.mb.push(&r, ret, true); perr != nil {
		c.log.V(1).Info("Reply dropped", "to", r.To, "err", perr)
	}
}

// registerName binds name to id: "." names locally, others via Registry.
func (c *Core) registerName(ctx context.Context, name string, id ServiceID) error {
	switch {
	case name == "":
		return nil
	case IsLocalName(name):
		return c.local.Register(ctx, name, id)
	default:
		return c.Registry().Register(ctx, name, id)
	}
}

// releaseName unbinds name from id.
func (c *Core) releaseName(ctx context.Context, name string, id ServiceID) {
	var err error
	switch {
	case name == "":
		return
	case IsLocalName(name):
		err = c.local.Unregister(ctx, name, id)
	default:
		err = c.Registry().Unregister(ctx, name, id)
	}
	if err != nil {
		c.log.Error(err, "Releasing name", "name", name, "id", id.String())
	}
}

func (c *Core) subscribe(s *Service) {
	c.subMu.Lock()
	subs := make([]*Service, 0, len(c.subs)+1)
	subs = append(subs, c.subs...)
	c.subs = append(subs, s)
	c.subMu.Unlock()
}

func (c *Core) unsubscribe(s *Service) {
	c.subMu.Lock()
	subs := make([]*Service, 0, len(c.subs))
	for _, x := range c.subs {
		if x != s {
			subs = append(subs, x)
		}
	}
	c.subs = subs
	c.subMu.Unlock()
}
