package cluster

import (
	"errors"
	"fmt"

	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/transport"
)

func (c *Cluster) handleData(conn *transport.Conn, payload []byte) {
	k := c.core.Load()
	if k == nil {
		c.notAttached(conn, payload)
		return
	}
	// DeliverLocal copies what it keeps (the mailbox stores the fields) and
	// does not retain m itself, so the message lives on this goroutine's
	// stack. Only a reply's Args are handed over (to the caller); the
	// arguments of other kinds are decoded into a reused slice.
	var msg core.Message
	m := &msg
	var scratch *[4]any
	var dst []any
	if payload[0] != byte(core.KindReply) {
		scratch = c.argBufs.Get().(*[4]any)
		dst = scratch[:0]
		defer c.putArgs(scratch)
	}
	// A Send, Call or Request for a handler of this node that takes its
	// parameters typed is decoded straight into them (no []any); anything
	// else, or arguments that do not fit, take the []any path, which also
	// reports what does not decode.
	rest, err := decodeHeader(m, payload, &c.cmds)
	if err == nil {
		if typed, _ := k.DecodeArgsFor(m, c.opts.Codec, rest); !typed {
			err = decodeArgs(m, rest, c.opts.Codec, dst)
		}
	}
	if err != nil {
		c.undecodable(conn, m, err)
		return
	}
	c.stats.In[m.Kind].Add(1)
	if m.Kind == core.KindReply && c.opts.ObserveCall != nil {
		c.observeReply(m.Session)
	}
	if err := k.DeliverLocal(m); err != nil {
		c.log.V(1).Info("Remote message not delivered", "to", m.To.String(), "cmd", m.Cmd, "err", err.Error())
	}
}

// putArgs clears a decoding scratch slice and keeps it for reuse.
func (c *Cluster) putArgs(a *[4]any) {
	clear(a[:])
	c.argBufs.Put(a)
}

// notAttached answers a Call or Request that arrived before the core was
// attached (the node is starting): its caller gets an error at once instead
// of waiting for its deadline.
func (c *Cluster) notAttached(conn *transport.Conn, payload []byte) {
	m, err := decodeMessage(payload, c.opts.Codec)
	if err != nil || (m.Kind != core.KindCall && m.Kind != core.KindRequest) {
		c.log.V(1).Info("Dropping data frame: node not started", "peer", peerAddr(conn))
		return
	}
	reply := core.Message{Kind: core.KindReply, To: m.From, From: m.To, Session: m.Session,
		Err: fmt.Sprintf("node %q is starting: %v", c.opts.Name, core.ErrStopped), Code: core.CodeOf(core.ErrStopped)}
	if derr := c.Deliver(&reply); derr != nil {
		c.log.V(1).Info("Error reply not sent", "to", m.From.String(), "err", derr.Error())
	}
}

// undecodable handles a data frame that did not decode. If its header did
// (only the arguments failed: an unregistered type, a limit, a kind
// mismatch), a Call or Request gets an error reply naming the reason at
// once (the caller would otherwise wait for its deadline), a reply fails
// the local caller the same way and a Send is counted as dropped. A frame
// whose header did not decode cannot be answered: it is counted and
// dropped.
func (c *Cluster) undecodable(conn *transport.Conn, m *core.Message, err error) {
	k := c.core.Load()
	if !errors.Is(err, errBadArgs) {
		reason := core.DropDecode
		if errors.Is(err, errUnknownKind) {
			reason = core.DropUnknownKind
		}
		k.Drop(reason)
		c.log.V(1).Info("Dropping data frame", "peer", peerAddr(conn), "err", err.Error())
		return
	}
	c.stats.In[m.Kind].Add(1)
	uerr := fmt.Errorf("node %q cannot decode %q for %v: %w: %w", c.opts.Name, m.Cmd, m.To, core.ErrUndeliverable, err)
	switch m.Kind {
	case core.KindReply: // the caller is here: fail its call now
		m.Args, m.Err, m.Code = nil, uerr.Error(), core.CodeOf(core.ErrUndeliverable)
		if derr := k.DeliverLocal(m); derr != nil {
			c.log.V(1).Info("Remote message not delivered", "to", m.To.String(), "err", derr.Error())
		}
	default:
		m.Args = nil
		k.Refuse(m, uerr, core.DropDecode)
		if m.Kind == core.KindSend {
			c.logDrop("Dropping message whose arguments do not decode (unregistered type, limit, kind mismatch)", "from", m.From.String(), "to", m.To.String(),
				"cmd", m.Cmd, "peer", peerAddr(conn), "err", err.Error())
		}
	}
}
