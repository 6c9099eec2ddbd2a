package nodebin

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// Commands of this module that real-process tests run.
const (
	LotouNode = "github.com/lotou-io/lotou/cmd/lotou-node"
	Lotouctl  = "github.com/lotou-io/lotou/cmd/lotouctl"
)

// Binaries builds a set of Go commands into one temporary directory the
// first time a test asks for it. Declare one per test package and call
// Remove from TestMain after m.Run.
type Binaries struct {
	pkgs []string
	once sync.Once
	dir  string
	err  error
}

// New returns Binaries for the given import paths (LotouNode, Lotouctl, an
// example's main package).
func New(pkgs ...string) *Binaries { return &Binaries{pkgs: pkgs} }

// Dir builds the binaries once and returns their directory; each binary is
// named after the last element of its import path. A build failure fails
// every test that asks.
func (b *Binaries) Dir(tb testing.TB) string {
	tb.Helper()
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "lotou-bin"); b.err != nil {
			return
		}
		args := append([]string{"build", "-o", b.dir + "/"}, b.pkgs...)
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil { //nolint:gosec // the module's own packages
			b.err = fmt.Errorf("go build %v: %w\n%s", b.pkgs, err, out)
		}
	})
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.dir
}

// Remove deletes the binaries' directory, if they were built.
func (b *Binaries) Remove() {
	if b.dir != "" {
		_ = os.RemoveAll(b.dir)
	}
}

// Output collects a child process's output (cmd.Stdout, cmd.Stderr) while
// the test reads it.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
