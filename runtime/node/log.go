package node

import (
	"fmt"
	"io"
	"sync"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
)

// NewLogger returns a logger writing one line per entry to w at the given
// level: "error" (errors only), "info" (errors and V(0) info) or "debug"
// (everything up to V(1)).
func NewLogger(w io.Writer, level string) (logr.Logger, error) {
	verbosity := 0
	onlyErrors := false
	switch level {
	case "error":
		onlyErrors = true
	case "info", "":
	case "debug":
		verbosity = 1
	default:
		return logr.Discard(), fmt.Errorf("log level %q: want error, info or debug", level)
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
	}, funcr.Options{Verbosity: verbosity, LogTimestamp: true}).GetSink()
	if onlyErrors {
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
