package core

import "time"

// Kind says what a Message is. The values are part of the wire contract:
// the cluster encodes Kind as a byte.
type Kind uint8

// Message kinds that may cross nodes.
const (
	// KindSend is a one-way message; no reply.
	KindSend Kind = iota + 1
	// KindRequest expects a reply that runs a callback on the requester.
	KindRequest
	// KindCall expects a reply that a blocked caller waits for.
	KindCall
	// KindReply answers a Request or Call with the same Session.
	KindReply
	// KindClose asks the target to stop; Args[0] is true for a forced stop.
	KindClose
	// KindEvent carries a cluster Event in Args[0].
	KindEvent
)

// Internal kinds never leave the node.
const (
	kindTimer   Kind = 200 + iota // a timer tick; Session is the TimerID
	kindTimeout                   // a Request deadline; Session is the request session
	kindStop                      // Core.Stop: run the stop hooks now
	kindWake                      // the ctx of a suspended Call ended; Session is the call's
)

// Message is the unit of routing. Its exported fields are plain data that the
// cluster encodes to cross nodes; inside a node it is passed by reference and
// never encoded.
type Message struct {
	// Kind says what the message is.
	Kind Kind
	// From is the sender; for code outside any service, the node's own id
	// (counter 0).
	From ServiceID
	// To is the target service.
	To ServiceID
	// Session matches a reply to its Request or Call; 0 for one-way messages.
	Session uint64
	// Cmd names the handler to run.
	Cmd string
	// Args are the handler arguments, or the reply values for KindReply.
	Args []any
	// Err is the error text of an error reply; empty on success.
	Err string
	// Code is the wire code of the core sentinel an error reply wraps (see
	// CodeOf); 0 if none.
	Code ErrorCode
	// Deadline is when the sender of a Call or Request stops waiting; zero
	// if it set none. It crosses nodes as the remaining budget (clocks
	// differ): a receiver refuses work whose budget is spent before its
	// handler starts (ErrDeadlineExceeded), and the handler's own Calls
	// are bounded by it.
	Deadline time.Time

	w     *waiter    // local Core.Call waiting on this message; never encoded
	err   error      // typed error of a local error reply; never encoded
	typed *argValues // arguments decoded for their handler (DecodeArgsFor); never encoded
}

// envelope is a message as stored in a mailbox: compact (88 bytes) so that
// producer and consumer move few cache lines, with up to two arguments in
// place and the rare parts (more arguments, error replies) behind a pointer.
type envelope struct {
	kind    Kind
	nargs   uint8
	from    ServiceID
	session uint64
	cmd     string
	inline  [2]any
	w       *waiter
	more    *extra
}

// extra holds the rare parts of an envelope.
type extra struct {
	args     []any // more than two arguments
	errText  string
	code     ErrorCode
	err      error
	deadline time.Time // when the caller stops waiting (Message.Deadline)
}

// deadline returns when the sender of e stops waiting, or zero.
func (e *envelope) deadline() time.Time {
	if e.more == nil {
		return time.Time{}
	}
	return e.more.deadline
}

// intArg in nargs marks a one-way envelope whose only argument is an int
// kept unboxed in session (see Core.SendInt).
const intArg uint8 = 0x80

// args returns the arguments. The slice may point into the mailbox batch:
// it is valid only during dispatch. An unboxed int argument is boxed here,
// for a handler that does not take an int.
func (e *envelope) args() []any {
	if e.more != nil && e.more.args != nil {
		return e.more.args
	}
	switch e.nargs {
	case intArg:
		e.inline[0], e.nargs, e.session = int(int64(e.session)), 1, 0
	case typedArgs:
		vs := e.inline[0].(*argValues)
		args := vs.boxed()
		vs.release()
		e.inline[0], e.nargs = nil, 0
		if len(args) > len(e.inline) {
			e.more = &extra{args: args}
			return args
		}
		e.nargs = uint8(copy(e.inline[:], args))
	}
	return e.inline[:e.nargs:e.nargs]
}

// intArg returns the unboxed int argument of e, if it has one.
func (e *envelope) intArg() (int, bool) {
	return int(int64(e.session)), e.nargs == intArg
}

// expectsReply reports whether somebody waits for an answer to e.
func (e *envelope) expectsReply() bool {
	return e.w != nil || ((e.kind == KindCall || e.kind == KindRequest) && e.session != 0)
}

// replyErr returns the error carried by a reply envelope, or nil.
func (e *envelope) replyErr() error {
	switch {
	case e.more == nil:
		return nil
	case e.more.err != nil:
		return e.more.err
	case e.more.errText != "":
		return &RemoteError{Msg: e.more.errText, Code: e.more.code}
	}
	return nil
}

// expectsReply reports whether somebody waits for an answer to m.
func (m *Message) expectsReply() bool {
	return m.w != nil || ((m.Kind == KindCall || m.Kind == KindRequest) && m.Session != 0)
}

// replyErr returns the error carried by a reply message, or nil.
func (m *Message) replyErr() error {
	if m.err != nil {
		return m.err
	}
	if m.Err != "" {
		return &RemoteError{Msg: m.Err, Code: m.Code}
	}
	return nil
}

// EventType says what happened in the cluster.
type EventType uint8

// Cluster event types delivered to subscribed services.
const (
	// EventNameAdded: a global name was registered.
	EventNameAdded EventType = iota + 1
	// EventNameRemoved: a global name was released.
	EventNameRemoved
	// EventNodeUp: a node joined the cluster.
	EventNodeUp
	// EventNodeDown: a node left or became unreachable.
	EventNodeDown
)

// Event is a cluster notification broadcast to subscribed services.
type Event struct {
	// Type says what happened.
	Type EventType
	// Name is the global name, for name events.
	Name string
	// ID is the service holding Name, for name events.
	ID ServiceID
	// Node is the node concerned, for node events.
	Node NodeID
}
