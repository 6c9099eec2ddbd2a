package chaos

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestChaos is the chaos run (see the package doc). hack/chaos.sh run sets
// LOTOU_CHAOS=1 after it made the namespaces; without it the test is skipped.
func TestChaos(t *testing.T) {
	if os.Getenv("LOTOU_CHAOS") != "1" {
		t.Skip("chaos run: use hack/chaos.sh run (make test-chaos / make chaos), needs root and network namespaces")
	}
	cfg, err := ConfigFromEnv(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs("../../hack/chaos.sh")
	if err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	work := t.TempDir()
	logf := func(format string, args ...any) {
		t.Logf("%s "+format, append([]any{time.Now().Format("15:04:05.000")}, args...)...)
	}
	ctx := context.Background()
	h, err := NewHarness(ctx, cfg, work, script, logf)
	if err != nil {
		t.Fatal(err)
	}
	res, runErr := h.Run(ctx)
	leak := goroutineLeak(before)
	if runErr != nil {
		dumpLogs(t, work)
		t.Fatalf("chaos run: %v", runErr)
	}
	vs := Check(cfg, res, leak)
	table := Table(cfg, res, vs)
	fmt.Println(table) // the table is the product: print it even when the test passes
	var failed []string
	for _, v := range vs {
		if !v.OK && slices.Contains(cfg.Assert, v.Name) {
			failed = append(failed, v.Name)
		}
	}
	if len(failed) > 0 {
		dumpLogs(t, work)
		t.Fatalf("asserted invariants failed: %s", strings.Join(failed, ", "))
	}
}

// goroutineLeak waits up to 5s for the test's goroutines to come back to
// before (+2 for the testing package's own), and says what is left if not.
func goroutineLeak(before int) string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before+2 {
			return ""
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			return fmt.Sprintf("%d goroutines before, %d after: %.1500s", before, n, buf)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// dumpLogs prints the tail of every node log.
func dumpLogs(t *testing.T, work string) {
	files, _ := filepath.Glob(filepath.Join(work, "logs", "*.log"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		t.Logf("--- tail of %s:\n%s", filepath.Base(f), b)
	}
}
