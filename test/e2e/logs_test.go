package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"sync"
	"time"
)

// logFollow is a running `kubectl logs -f POD`: it tells when the first bytes arrived (the stream is attached)
// and when the stream ended (the container is gone), and keeps what it read.
type logFollow struct {
	pod    string
	cancel context.CancelFunc
	first  chan struct{} // closed at the first bytes read
	done   chan struct{} // closed when kubectl has exited
	once   sync.Once
	mu     sync.Mutex
	buf    bytes.Buffer
}

// followLogs starts `kubectl logs -f pod`; call stop (idempotent) to end it.
func (s *suite) followLogs(ctx context.Context, pod string) (*logFollow, error) {
	ctx, cancel := context.WithCancel(ctx)
	f := &logFollow{pod: pod, cancel: cancel, first: make(chan struct{}), done: make(chan struct{})}
	cmd := exec.CommandContext(ctx, s.kubectl, "-n", s.ns, "logs", "-f", pod) // #nosec G204 -- kubectl and a pod name
	cmd.Stdout = f
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("starting kubectl logs -f %s: %w", pod, err)
	}
	go func() {
		_ = cmd.Wait() // ends when the container does, or on stop
		close(f.done)
	}()
	return f, nil
}

// Write implements io.Writer for kubectl's stdout.
func (f *logFollow) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(p) > 0 {
		f.once.Do(func() { close(f.first) })
	}
	return f.buf.Write(p)
}

// attached waits until the stream has delivered its first bytes.
func (f *logFollow) attached(timeout time.Duration) error {
	select {
	case <-f.first:
		return nil
	case <-f.done:
		return fmt.Errorf("kubectl logs -f %s ended before any output", f.pod)
	case <-time.After(timeout):
		return fmt.Errorf("kubectl logs -f %s: no output within %s, want the pod's startup lines", f.pod, timeout)
	}
}

// ended waits until the stream ends (the container exited) and returns everything read.
func (f *logFollow) ended(timeout time.Duration) (string, error) {
	select {
	case <-f.done:
		return f.text(), nil
	case <-time.After(timeout):
		return f.text(), fmt.Errorf("log stream of %s still open after %s, want it ended with the container", f.pod, timeout)
	}
}

func (f *logFollow) text() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.buf.String()
}

// stop ends kubectl and waits for it.
func (f *logFollow) stop() {
	f.cancel()
	<-f.done
}
