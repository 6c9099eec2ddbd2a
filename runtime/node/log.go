package node

import (
	"fmt"
	"io"
	"sync"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"

	"github.com/lotou-io/lotou/runtime/logsink"
)

// verbosity maps a log level name to a logr verbosity: "error" (errors
// only, -1), "info" or "" (0), "debug" (1).
func verbosity(level string) (int, error) {
	switch level {
	case "error":
		return -1, nil
	case "info", "":
		return 0, nil
	case "debug":
		return 1, nil
	default:
		return 0, fmt.Errorf("log level %q: want error, info or debug", level)
	}
}

// NewSink returns the node's log sink: asynchronous and buffered (buffer
// lines; 0 means logsink.DefaultBuffer), filtered at level ("error", "info"
// or "debug"). A full buffer drops and counts (Sink.Dropped) instead of
// blocking the service that logs. Nothing is written until the caller runs
// Sink.Run, which it must own and join: Run flushes what is buffered when
// its ctx ends, so cancel that ctx only after the node's Run returned.
func NewSink(w io.Writer, level string, buffer int) (*logsink.Sink, error) {
	v, err := verbosity(level)
	if err != nil {
		return nil, err
	}
	return logsink.New(logsink.Options{Writer: w, Buffer: buffer, Verbosity: v}), nil
}

// NewLogger returns a synchronous logger writing one line per entry to w at
// the given level: "error" (errors only), "info" (errors and V(0) info) or
// "debug" (everything up to V(1)). It suits short-lived tools (lotouctl); a
// node logs through NewSink.
func NewLogger(w io.Writer, level string) (logr.Logger, error) {
	v, err := verbosity(level)
	if err != nil {
		return logr.Discard(), err
	}
	var mu sync.Mutex
	sink := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		if prefix != "" {
			_, _ = fmt.Fprintf(w, "%s: %s\n", prefix, args)
			return
		}
		_, _ = fmt.Fprintln(w, args)
	}, funcr.Options{Verbosity: max(v, 0), LogTimestamp: true}).GetSink()
	if v < 0 {
		sink = errorsOnly{sink}
	}
	return logr.New(sink), nil
}

// errorsOnly drops every info line.
type errorsOnly struct{ logr.LogSink }

func (e errorsOnly) Enabled(int) bool { return false }
func (e errorsOnly) WithValues(kv ...any) logr.LogSink {
	return errorsOnly{e.LogSink.WithValues(kv...)}
}
func (e errorsOnly) WithName(name string) logr.LogSink { return errorsOnly{e.LogSink.WithName(name)} }
