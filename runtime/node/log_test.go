package node

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// gatedWriter blocks every Write until open is closed, like a stalled
// stderr pipe.
type gatedWriter struct {
	open chan struct{}
	mu   sync.Mutex
	buf  bytes.Buffer
}

func (g *gatedWriter) Write(p []byte) (int, error) {
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gatedWriter) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

// TestSinkFlood: with the output stalled, a flood of logs neither blocks the
// logger nor grows without bound (drops are counted); once the output moves
// again, stopping the sink flushes the last lines.
func TestSinkFlood(t *testing.T) {
	w := &gatedWriter{open: make(chan struct{})}
	sink, err := NewSink(w, "info", 64)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sink.Run(ctx) }()
	log := sink.Logger().WithName("test")
	const flood = 10000
	for i := range flood { // returns although nothing can be written
		log.Info("Flood", "i", i)
		log.V(1).Info("Debug line, filtered out")
	}
	if d := sink.Dropped(); d == 0 || d >= flood {
		t.Fatalf("dropped %d of %d lines, want some but not all", d, flood)
	}
	close(w.open)
	// The drop report is written once the backlog is drained: room again.
	for !strings.Contains(w.String(), "Log lines dropped") {
		time.Sleep(time.Millisecond)
	}
	log.Info("Last line")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := w.String()
	if !strings.Contains(out, `"Last line"`) {
		t.Fatalf("last line not flushed:\n%s", out)
	}
	if strings.Contains(out, "Debug line") {
		t.Fatalf("debug line written at info level:\n%.2000s", out)
	}
}

func TestNewSinkLevels(t *testing.T) {
	tests := []struct {
		level         string
		info, debug   bool
		wantErrString string
	}{
		{level: "error"},
		{level: "info", info: true},
		{level: "", info: true},
		{level: "debug", info: true, debug: true},
		{level: "loud", wantErrString: "log level"},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			var buf bytes.Buffer
			sink, err := NewSink(&buf, tt.level, 0)
			if tt.wantErrString != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrString) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- sink.Run(ctx) }()
			log := sink.Logger()
			log.Error(nil, "an error")
			log.Info("an info")
			log.V(1).Info("a debug")
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if !strings.Contains(out, "an error") || strings.Contains(out, "an info") != tt.info ||
				strings.Contains(out, "a debug") != tt.debug {
				t.Fatalf("level %q wrote:\n%s", tt.level, out)
			}
		})
	}
}

func TestLogDroppedMetric(t *testing.T) {
	r := run(t, Options{Name: "solo", LogDropped: func() uint64 { return 7 }})
	if _, body := get(t, r, contract.PathMetrics); !strings.Contains(body, "lotou_log_dropped_total 7") {
		t.Fatalf("metrics lack lotou_log_dropped_total:\n%s", body)
	}
}
