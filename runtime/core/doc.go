// Package core is the Lotou routing core: services, ids, names, mailboxes,
// the call/request bookkeeping and timers. It does no I/O: no sockets, no
// codec. A cluster plugs in through two small interfaces defined here,
// Remote (deliver a message to another node) and Registry (global names),
// and through three entry points on Core: DeliverLocal (a message arrived
// from the network), FailNode (a node went away) and Publish (cluster event).
//
// # Services
//
// Everything is a service: one goroutine, one bounded mailbox, handlers run
// one at a time. A service is a few lines of plain Go:
//
//	svc, err := c.Spawn(ctx, ".adder", func(s *core.Service) error {
//		s.Handle("add", func(a, b int) int { return a + b })
//		return nil
//	})
//	ret, err := c.Call(ctx, svc.ID(), "add", 1, 2) // ret[0] == 3
//
// Handlers are ordinary typed functions registered per command. An optional
// first parameter *Context gives the sender and the service. The return values
// are the reply; a trailing error return becomes an error reply. Signatures
// are analysed once per reflect.Type at registration; common shapes (func(),
// func(int) int, func(string) (string, error), func(*Context, []any) ([]any,
// error), ...) run without reflect.Call.
//
// # Ids and names
//
// A ServiceID is 64 bits: the NodeID in the high 16 bits, the Incarnation
// of the node process in the next 16 and a per-process counter in the low
// 32. Counters only grow, so a process never reuses an id; the incarnation
// (picked by the cluster, different for every process, at most 14 bits)
// keeps a restarted process under the same NodeID (a master is always node
// 1) from answering ids handed out by its predecessor: a message for
// another incarnation is refused with ErrStaleID (an error reply for a Call
// or Request, a counted drop for a Send), never delivered to whatever
// service now has that counter. The id with counter 0 stands for the node
// itself (code outside any service). Names
// beginning with "." are local to the node; other names are global and go
// through the pluggable Registry (LocalRegistry on a standalone node).
//
// # Message kinds
//
// Send is one-way. Request sends and later runs a callback exactly once on
// the requester's goroutine, with the reply or an error (timeout, node down,
// stopped). Call blocks until the reply or the ctx deadline. Replies are
// matched by session number. Close asks a service to stop, gracefully (after
// what is queued before the notice) or forced. Events (name added/removed,
// node up/down) reach services that Subscribe. Inside a node messages pass by
// reference, never encoded.
//
// # Deadlock rule: suspended handlers
//
// A Call made from inside a handler (Service.Call or Context.Call), and a
// Service.Lookup of a name the node does not know yet, do not block the
// service: the handler is suspended and the service goes on taking messages
// from its mailbox, in order, and dispatching them (Skynet's coroutine model
// in Go). So A→B→A completes, and so do two services calling each other at
// the same moment. Each service has a baton: only the goroutine holding it
// runs the service's code, so handlers still run one at a time and need no
// locking. A handler that blocks hands the baton to a fresh loop goroutine
// and parks; when its reply (or its own deadline) arrives, the loop hands
// the baton back and waits until the handler returns or blocks again. So
// suspended handlers complete in the order their replies come, not last in
// first out, and each Call keeps its own deadline: a Call with 100 ms left
// returns at 100 ms even while another handler of the service waits 1 s.
// Handlers that never block run inline on the loop goroutine at no extra
// cost. The price is re-entrancy, exactly as in Skynet: other handlers,
// timers and request callbacks of the same service may run while a handler
// is suspended, so state may have changed when Call returns. At most
// maxCallDepth (64) handlers of one service may be suspended at once; one
// more Call fails at once with ErrCallDepth (runaway mutual recursion).
// When the service stops, suspended Calls return ErrStopped and every
// goroutine is joined. Core.Call, for code outside any service, simply
// blocks its goroutine. Never call Core.Call from a handler.
//
// # Deadlines
//
// A Call or Request carries its caller's deadline (Message.Deadline; across
// nodes the remaining budget). A message whose deadline has passed when its
// handler would start is not run: its caller gets ErrDeadlineExceeded. A
// handler's own Calls and Lookups are bounded by the deadline of the
// message it handles (Context.Deadline), so work nobody waits for is not
// started further down the chain.
//
// # Mailboxes
//
// Mailboxes are bounded (Options.MailboxSize, ServiceOption WithMailboxSize).
// Send never blocks and never panics: it returns ErrMailboxFull; SendWait waits
// for room until its ctx ends. Replies, timer ticks and close notices are
// internal traffic that is bounded by the outstanding work and bypasses the
// capacity check. Cluster events have a bound of their own: at most the
// mailbox capacity of undelivered events per subscriber; beyond it events
// are dropped and counted (Drops(DropEventOverflow)). The consumer swaps the whole queue out under one lock
// (batch draining), so a producer pays one short critical section per message.
// A consumer that runs out of work spins briefly (about a microsecond) before
// parking only while messages have been arriving within the last 50µs, so a
// steady stream avoids wake-ups while the thousands of mostly idle services of
// a game server park at once and cost no CPU between messages.
//
// # Arguments
//
// Handler arguments are checked by a type assertion per value against the
// types learnt at registration; values of another numeric type are converted
// when they fit (a remote int64 reaches a func(int)), anything else is an
// ErrBadArgs reply. Up to two arguments are stored in place in the mailbox, so
// a Send allocates nothing beyond boxing its values, to this node or another
// (Remote.Deliver borrows the message and encodes it); SendInt does not box
// its int either, and a handler taking one int gets it unboxed. Arguments
// from another node are decoded by the connection reader straight into the
// handler's parameters when it takes concrete types (DecodeArgsFor, an
// ArgDecoder such as the codec's registry), else into []any. A raw handler
// func(*Context, []any) ([]any, error) sees that storage: its args slice is
// valid only until it returns (copy it to keep it).
//
// # Errors across nodes
//
// An error reply carries its text and the ErrorCode of the core sentinel it
// wraps (CodeOf); the caller gets a RemoteError that matches that sentinel
// with errors.Is, by code only (its text is never searched). Every Call or
// Request that cannot be delivered gets an error reply naming the reason
// (ErrServiceNotFound, ErrStaleID, ErrUndeliverable for another node's id
// or arguments that do not decode, ErrMailboxFull, ErrStopped,
// ErrNodeDraining); a Send that cannot be delivered is counted by reason
// (Drops), exported as lotou_messages_dropped_total{reason}.
//
// # Timers, panics, shutdown
//
// After and Every deliver timer ticks as messages on the service goroutine
// (time.AfterFunc, no global tick); Cancel stops them; all are stopped when the
// service stops. Request deadlines are cancelled when the reply arrives. A
// panicking handler is logged with its stack, the service goes on, and a
// Call or Request waiting on that message gets ErrHandlerPanic at once.
//
// Core.Stop stops in an order that lets stop hooks use other services:
//  1. the core refuses new Sends, Calls and Spawns from outside services
//     (ErrStopped); messages from other nodes are still accepted;
//  2. every service handles what is queued, then runs its stop hooks while
//     every other service still serves (a hook may Call .db to save);
//  3. once all hooks have run, the mailboxes close: each service drains what
//     is left, refusing new user messages (ErrStopped to the sender), fails
//     its outstanding Requests with ErrStopped and exits.
//
// A forced Close stops a service after the handler that is running: messages
// already taken from the mailbox in the same batch are not handled, and
// those expecting a reply fail with ErrStopped. Timers and Requests started
// by stop hooks and still pending at the end are cancelled and failed
// (ErrStopped).
//
// # Graceful leave: the guarantee
//
// A node that stops gracefully (lotou-node on SIGTERM: runtime/node
// Node.Run when its ctx ends) leaves in two phases. Draining: the cluster
// announces it; other nodes fail new Calls, Requests and Sends to it at once
// with ErrNodeDraining (and lookups of its global names), which means the
// message was not delivered, so a retry elsewhere is safe. Meanwhile the
// core stops as above: everything already accepted runs, and its replies go
// back over the still-open links. Left: once the core has stopped and the
// replies are written, the node deregisters and leaves; only then are links
// closed. Other nodes keep the Calls pending on it until no link to or from
// it has been open for one heartbeat interval (a reply always arrives before
// its link's end; the interval covers a link the leaving node dialled for
// its replies that the caller has not registered yet), or 5 s at most after
// its last link came up, and only then fail them with ErrNodeDown: a reply
// overtaken by the news that the node left is still delivered.
//
// The guarantee: nothing accepted is reported failed, and nothing reported
// failed has run. A Call the runtime answers with ErrNodeDraining,
// ErrStopped, ErrStaleID, ErrServiceNotFound, ErrUndeliverable or
// ErrDeadlineExceeded was not run
// (an error a handler returns itself may wrap any sentinel, of course).
//
// At the drain deadline (runtime/node Options.DrainTimeout, 10s) the
// remaining services are force-stopped and the node leaves. Queued messages
// that had not started never run: they are answered ErrStopped once the
// handler running in their service returns, or, if the node left before
// that, their callers get ErrNodeDown. Only a handler still running when the
// node leaves, or one whose reply could not be written before the links
// closed, breaks the guarantee: its caller gets ErrNodeDown and the work may
// or may not have run (it does finish if the process lives on), exactly as
// when the node crashes. A crash, a SIGKILL or a
// partition give no guarantee beyond at-most-once: a Call reported
// ErrNodeDown or ErrCallTimeout may have run.
package core
