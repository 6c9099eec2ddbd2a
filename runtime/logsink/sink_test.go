package logsink_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/goleak"

	"github.com/lotou-io/lotou/runtime/logsink"
	"github.com/lotou-io/lotou/test/nodebin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var fixed = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC) }

// run starts the sink's writer and returns a stop func that joins it.
func run(t *testing.T, s *logsink.Sink) func() {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	}
}

func TestLines(t *testing.T) {
	tests := []struct {
		name string
		log  func(s *logsink.Sink)
		want string
	}{
		{"info", func(s *logsink.Sink) { s.Logger().Info("Started", "n", 3, "who", "a b") },
			`2026-01-02T03:04:05.006Z INFO "Started" n=3 who="a b"` + "\n"},
		{"error", func(s *logsink.Sink) { s.Logger().Error(errors.New("bad"), "Failed", "ok", false) },
			`2026-01-02T03:04:05.006Z ERROR "Failed" err="bad" ok=false` + "\n"},
		{"name and values", func(s *logsink.Sink) {
			s.Logger().WithName("core").WithName("svc").WithValues("id", "1:2").Info("Hi", "odd")
		}, `2026-01-02T03:04:05.006Z INFO core/svc "Hi" id="1:2" odd="(MISSING)"` + "\n"},
		{"verbosity", func(s *logsink.Sink) {
			s.Logger().V(1).Info("shown")
			s.Logger().V(2).Info("hidden")
		}, `2026-01-02T03:04:05.006Z V1 "shown"` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &nodebin.Output{}
			s := logsink.New(logsink.Options{Writer: out, Verbosity: 1, Clock: fixed})
			stop := run(t, s)
			tt.log(s)
			stop()
			if got := out.String(); got != tt.want {
				t.Fatalf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestDropsWhenFull: with no writer running a full buffer drops and counts
// instead of blocking the caller; the drop count is reported later.
func TestDropsWhenFull(t *testing.T) {
	out := &nodebin.Output{}
	s := logsink.New(logsink.Options{Writer: out, Buffer: 2, Clock: fixed})
	log := s.Logger()
	for i := range 5 {
		log.Info("line", "i", i)
	}
	if d := s.Dropped(); d != 3 {
		t.Fatalf("Dropped = %d, want 3", d)
	}
	stop := run(t, s)
	stop()
	got := out.String()
	if strings.Count(got, `"line"`) != 2 || !strings.Contains(got, "dropped=3") {
		t.Fatalf("output:\n%s", got)
	}
}

// nilStringer has a String method that panics on a nil receiver.
type nilStringer struct{ name string }

func (n *nilStringer) String() string { return n.name }

// nilErr has an Error method that panics on a nil receiver.
type nilErr struct{ msg string }

func (e *nilErr) Error() string { return e.msg }

// TestPanickingValues: values whose String or Error method panics are
// rendered with a marker; the logging call itself never panics.
func TestPanickingValues(t *testing.T) {
	tests := []struct {
		name string
		log  func(l logr.Logger)
		want string
	}{
		{"nil Stringer value", func(l logr.Logger) { l.Info("m", "v", (*nilStringer)(nil)) }, `v="<PANIC=`},
		{"nil error value", func(l logr.Logger) { l.Info("m", "e", (*nilErr)(nil)) }, `e="<PANIC=`},
		{"nil error in Error", func(l logr.Logger) { l.Error((*nilErr)(nil), "m") }, `err="<PANIC=`},
		{"good Stringer", func(l logr.Logger) { l.Info("m", "v", &nilStringer{name: "ok"}) }, `v="ok"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := &nodebin.Output{}
			s := logsink.New(logsink.Options{Writer: out, Clock: fixed})
			tt.log(s.Logger())
			stop := run(t, s)
			stop()
			if got := out.String(); !strings.Contains(got, tt.want) {
				t.Fatalf("output %q does not contain %q", got, tt.want)
			}
		})
	}
}

// blockingWriter signals its first Write and holds it until release.
type blockingWriter struct {
	entered, release chan struct{}
	once             sync.Once
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered); <-w.release })
	return len(p), nil
}

// TestRunTwice: a second concurrent Run is refused instead of racing the
// first on the buffer.
func TestRunTwice(t *testing.T) {
	w := &blockingWriter{entered: make(chan struct{}), release: make(chan struct{})}
	s := logsink.New(logsink.Options{Writer: w, Buffer: 1})
	s.Logger().Info("first")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-w.entered // the first Run is writing
	err := s.Run(ctx)
	close(w.release)
	cancel()
	if first := <-done; first != nil {
		t.Fatalf("first Run: %v", first)
	}
	if !errors.Is(err, logsink.ErrRunning) {
		t.Fatalf("second Run: %v, want ErrRunning", err)
	}
}
