package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lotou-io/lotou/test/nodebin"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunFlushesLastLines stops a node the way SIGTERM does and checks that
// the graceful-leave line, logged just before run returns, was written by
// the asynchronous sink: run joins it after the node has left.
func TestRunFlushesLastLines(t *testing.T) {
	var out nodebin.Output
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--name", "solo", "--http", "127.0.0.1:0", "--services", "echo"}, func(string) string { return "" }, &out)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "Node running") {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("node did not start; log:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(out.String(), `"Leaving" name="solo"`) {
		t.Fatalf("graceful-leave line missing; log:\n%s", out.String())
	}
	if !strings.Contains(last, "INFO") {
		t.Fatalf("last line %q is not a log line", last)
	}
}
