package core

import (
	"errors"
	"strings"
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
)

var sentinels = []error{
	ErrMailboxFull, ErrCallTimeout, ErrNodeDown, ErrServiceNotFound, ErrNameTaken,
	ErrCallDepth, ErrStopped, ErrHandlerPanic, ErrUnknownCommand, ErrBadArgs, ErrBadHandler,
}

// RemoteError is an error reply that crossed nodes as text (Message.Err).
// errors.Is still matches the core's sentinels named in the text, so
// errors.Is(err, ErrUnknownCommand) works for remote calls too.
type RemoteError struct {
	// Msg is the error text produced on the remote node.
	Msg string
}

// Error returns the remote text.
func (e *RemoteError) Error() string { return e.Msg }

// Is matches core sentinels whose text appears in the remote message.
func (e *RemoteError) Is(target error) bool {
	for _, s := range sentinels {
		if target == s {
			return strings.Contains(e.Msg, s.Error())
		}
	}
	return false
}
