package logsink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// ErrRunning is returned by a Run called while another Run of the same
// sink (or of a sink derived from it) is writing.
var ErrRunning = errors.New("logsink: already running")

// DefaultBuffer is the number of lines buffered when Options.Buffer is 0.
const DefaultBuffer = 4096

// Options configures a Sink.
type Options struct {
	// Writer receives the lines; default os.Stderr.
	Writer io.Writer
	// Buffer is the number of lines held before dropping; default 4096.
	Buffer int
	// Verbosity is the highest V level written.
	Verbosity int
	// Clock stamps the lines; default time.Now.
	Clock func() time.Time
}

// shared is the state common to a Sink and the sinks derived from it.
type shared struct {
	out       io.Writer
	lines     chan []byte
	verbosity int
	clock     func() time.Time
	dropped   atomic.Uint64
	running   atomic.Bool // Run is active: a second Run is refused
	reported  uint64      // drops already reported; owned by Run
}

// Sink is a logr.LogSink that hands formatted lines to a bounded buffer
// drained by Run. It is safe for concurrent use.
type Sink struct {
	sh     *shared
	name   string
	prefix []byte // formatted WithValues pairs
}

var _ logr.LogSink = (*Sink)(nil)

// New returns a Sink; nothing is written until Run runs.
func New(opts Options) *Sink {
	if opts.Writer == nil {
		opts.Writer = os.Stderr
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	return &Sink{sh: &shared{
		out:       opts.Writer,
		lines:     make(chan []byte, opts.Buffer),
		verbosity: opts.Verbosity,
		clock:     opts.Clock,
	}}
}

// Logger returns a logr.Logger writing through the sink.
func (s *Sink) Logger() logr.Logger { return logr.New(s) }

// Dropped returns how many lines were dropped because the buffer was full.
func (s *Sink) Dropped() uint64 { return s.sh.dropped.Load() }

// Run writes buffered lines until ctx ends, then writes what is still
// buffered and returns nil (or the first write error).
// Run must not be called again while it runs (ErrRunning).
func (s *Sink) Run(ctx context.Context) error {
	sh := s.sh
	if !sh.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer sh.running.Store(false)
	w := bufio.NewWriter(sh.out)
	for {
		select {
		case line := <-sh.lines:
			if err := s.writeBatch(w, line); err != nil {
				return err
			}
		case <-ctx.Done():
			for {
				select {
				case line := <-sh.lines:
					if err := s.writeBatch(w, line); err != nil {
						return err
					}
				default:
					return s.flush(w)
				}
			}
		}
	}
}

// writeBatch writes line and whatever else is buffered, then flushes.
func (s *Sink) writeBatch(w *bufio.Writer, line []byte) error {
	if _, err := w.Write(line); err != nil {
		return fmt.Errorf("writing log: %w", err)
	}
	for {
		select {
		case more := <-s.sh.lines:
			if _, err := w.Write(more); err != nil {
				return fmt.Errorf("writing log: %w", err)
			}
		default:
			return s.flush(w)
		}
	}
}

// flush reports new drops and flushes w.
func (s *Sink) flush(w *bufio.Writer) error {
	sh := s.sh
	if d := sh.dropped.Load(); d > sh.reported {
		line := s.format(nil, "WARN", "Log lines dropped, buffer full", []any{"dropped", d - sh.reported, "total", d})
		sh.reported = d
		if _, err := w.Write(line); err != nil {
			return fmt.Errorf("writing log: %w", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("flushing log: %w", err)
	}
	return nil
}

// Init implements logr.LogSink.
func (s *Sink) Init(logr.RuntimeInfo) {}

// Enabled implements logr.LogSink.
func (s *Sink) Enabled(level int) bool { return level <= s.sh.verbosity }

// Info implements logr.LogSink.
func (s *Sink) Info(level int, msg string, kv ...any) {
	lvl := "INFO"
	if level > 0 {
		lvl = "V" + strconv.Itoa(level)
	}
	s.offer(s.format(nil, lvl, msg, kv))
}

// Error implements logr.LogSink.
func (s *Sink) Error(err error, msg string, kv ...any) {
	s.offer(s.format(err, "ERROR", msg, kv))
}

// WithValues implements logr.LogSink.
func (s *Sink) WithValues(kv ...any) logr.LogSink {
	return &Sink{sh: s.sh, name: s.name, prefix: appendPairs(append([]byte(nil), s.prefix...), kv)}
}

// WithName implements logr.LogSink.
func (s *Sink) WithName(name string) logr.LogSink {
	n := name
	if s.name != "" {
		n = s.name + "/" + name
	}
	return &Sink{sh: s.sh, name: n, prefix: s.prefix}
}

// offer queues a line without ever blocking.
func (s *Sink) offer(line []byte) {
	select {
	case s.sh.lines <- line:
	default:
		s.sh.dropped.Add(1)
	}
}

// format renders one line.
func (s *Sink) format(err error, lvl, msg string, kv []any) []byte {
	b := make([]byte, 0, 128)
	b = s.sh.clock().UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	b = append(b, ' ')
	b = append(b, lvl...)
	if s.name != "" {
		b = append(b, ' ')
		b = append(b, s.name...)
	}
	b = append(b, ' ')
	b = strconv.AppendQuote(b, msg)
	if err != nil {
		b = append(b, " err="...)
		b = strconv.AppendQuote(b, safeText(err.Error))
	}
	b = append(b, s.prefix...)
	b = appendPairs(b, kv)
	return append(b, '\n')
}

// appendPairs renders key=value pairs; a missing value shows as "(MISSING)".
func appendPairs(b []byte, kv []any) []byte {
	for i := 0; i < len(kv); i += 2 {
		b = append(b, ' ')
		b = append(b, fmt.Sprint(kv[i])...)
		b = append(b, '=')
		if i+1 >= len(kv) {
			b = append(b, `"(MISSING)"`...)
			break
		}
		b = appendValue(b, kv[i+1])
	}
	return b
}

// appendValue renders one value. A panicking Error or String method (a nil
// pointer receiver, typically) is rendered, never propagated: logging must
// not crash the caller.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return strconv.AppendQuote(b, x)
	case error:
		return strconv.AppendQuote(b, safeText(x.Error))
	case fmt.Stringer:
		return strconv.AppendQuote(b, safeText(x.String))
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	default:
		return strconv.AppendQuote(b, fmt.Sprint(x))
	}
}

// safeText returns text(), or a marker if it panics.
func safeText(text func() string) (out string) {
	defer func() {
		if r := recover(); r != nil {
			out = fmt.Sprintf("<PANIC=%v>", r)
		}
	}()
	return text()
}
