package nodebin

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestBinariesBuildOnce: the binaries are built on the first Dir, the same
// directory is returned after, and Remove deletes it.
func TestBinariesBuildOnce(t *testing.T) {
	b := New(LotouNode)
	dir := b.Dir(t)
	fi, err := os.Stat(filepath.Join(dir, "lotou-node"))
	if err != nil || fi.Mode()&0o111 == 0 {
		t.Fatalf("lotou-node in %s: %v", dir, err)
	}
	out, err := exec.Command(filepath.Join(dir, "lotou-node"), "--help").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-role") {
		t.Fatalf("lotou-node --help: %v\n%s", err, out)
	}
	if again := b.Dir(t); again != dir {
		t.Fatalf("second Dir = %s, want %s", again, dir)
	}
	b.Remove()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("%s after Remove: %v", dir, err)
	}
}

// TestOutputConcurrent: writes from many goroutines all arrive whole.
func TestOutputConcurrent(t *testing.T) {
	var o Output
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = o.Write([]byte("line\n"))
			}
		})
	}
	wg.Wait()
	if got := strings.Count(o.String(), "line\n"); got != 800 {
		t.Fatalf("%d lines, want 800", got)
	}
}
