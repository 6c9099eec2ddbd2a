package core

import (
	"errors"
)

// Sentinel errors of the core, checked with errors.Is. Errors returned by the
// core wrap them with what was being done.
var (
	// ErrMailboxFull means the target's bounded mailbox had no room.
	ErrMailboxFull = errors.New("mailbox full")
	// ErrCallTimeout means a Call's ctx ended or a Request's deadline passed
	// before the reply arrived.
	ErrCallTimeout = errors.New("call timeout")
	// ErrNodeDown means the target's node is unreachable or went away while
	// the reply was pending.
	ErrNodeDown = errors.New("node down")
	// ErrServiceNotFound means no service has that id or name.
	ErrServiceNotFound = errors.New("service not found")
	// ErrNameTaken means another service already holds that name.
	ErrNameTaken = errors.New("name taken")
	// ErrCallDepth means Calls were nested deeper than the core allows
	// (runaway mutual recursion between services).
	ErrCallDepth = errors.New("call nesting too deep")
	// ErrStopped means the core or the target service is stopping or stopped.
	ErrStopped = errors.New("stopped")
	// ErrHandlerPanic means the handler of the message panicked.
	ErrHandlerPanic = errors.New("handler panic")
	// ErrUnknownCommand means the target has no handler for the command.
	ErrUnknownCommand = errors.New("unknown command")
	// ErrBadArgs means the arguments do not match the handler's signature.
	ErrBadArgs = errors.New("bad arguments")
	// ErrBadHandler means a handler func has a signature the core cannot call.
	ErrBadHandler = errors.New("bad handler")
	// ErrNodeDraining means the target's node is leaving gracefully: it
	// finishes the work it accepted but takes no new Calls, Requests or
	// Sends. The message was not delivered, so retrying elsewhere is safe.
	ErrNodeDraining = errors.New("node draining")
	// ErrStaleID means the target id belongs to an earlier incarnation of
	// its node (the process restarted since the id was handed out): the
	// service it named is gone and the message was not delivered.
	ErrStaleID = errors.New("id of an earlier node incarnation")
	// ErrUndeliverable means a message from another node could not be
	// delivered as sent: its arguments did not decode (unknown type, a
	// limit exceeded, a kind mismatch) or it was addressed to another node.
	ErrUndeliverable = errors.New("message undeliverable")
	// ErrTooLarge means a value exceeds what the wire can carry (a name,
	// a command, a frame); the sender refuses it before anything is sent.
	ErrTooLarge = errors.New("too large for the wire")
	// ErrDeadlineExceeded means a Call or Request reached its handler after
	// its caller's deadline (the budget it carried was spent): it was not
	// run.
	ErrDeadlineExceeded = errors.New("deadline exceeded before the handler ran")
)

// ErrorCode is the number that stands for a core sentinel on the wire, so an
// error reply from another node still matches it with errors.Is. The values
// are part of the wire contract: never renumber, only append.
type ErrorCode uint8

// codes maps each wire code (index) to its sentinel; 0 is "no sentinel".
var codes = [...]error{
	1: ErrMailboxFull, 2: ErrCallTimeout, 3: ErrNodeDown, 4: ErrServiceNotFound, 5: ErrNameTaken,
	6: ErrCallDepth, 7: ErrStopped, 8: ErrHandlerPanic, 9: ErrUnknownCommand, 10: ErrBadArgs,
	11: ErrBadHandler, 12: ErrNodeDraining, 13: ErrStaleID, 14: ErrUndeliverable, 15: ErrTooLarge,
	16: ErrDeadlineExceeded,
}

// CodeOf returns the wire code of the first core sentinel err wraps, or 0.
// A RemoteError keeps its code.
func CodeOf(err error) ErrorCode {
	if err == nil {
		return 0
	}
	var re *RemoteError
	if errors.As(err, &re) {
		return re.Code
	}
	for i, s := range codes {
		if s != nil && errors.Is(err, s) {
			return ErrorCode(i)
		}
	}
	return 0
}

// Sentinel returns the sentinel of a wire code, or nil for 0 or an unknown
// code (from a newer peer).
func (c ErrorCode) Sentinel() error {
	if int(c) < len(codes) {
		return codes[c]
	}
	return nil
}

// RemoteError is an error reply that crossed nodes: the remote text and the
// wire code of the core sentinel it wrapped, so errors.Is(err,
// ErrUnknownCommand) works for remote calls too. Matching is by code only:
// the text is never searched.
type RemoteError struct {
	// Msg is the error text produced on the remote node.
	Msg string
	// Code is the wire code of the core sentinel the remote error wrapped;
	// 0 if none.
	Code ErrorCode
}

// Error returns the remote text.
func (e *RemoteError) Error() string { return e.Msg }

// Is matches the core sentinel named by the error code.
func (e *RemoteError) Is(target error) bool {
	s := e.Code.Sentinel()
	return s != nil && target == s
}

// Unwrap returns the sentinel named by the code, so errors.Is also sees
// through wrappers of it.
func (e *RemoteError) Unwrap() error { return e.Code.Sentinel() }
