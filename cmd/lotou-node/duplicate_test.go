package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/node"
	"github.com/lotou-io/lotou/test/freeport"
	"github.com/lotou-io/lotou/test/nodebin"
)

// TestDuplicateNameExitsNonZero: a second lotou-node with the name of a
// live node is refused by the master and exits with node.ExitDuplicate, while
// the live one keeps running.
func TestDuplicateNameExitsNonZero(t *testing.T) {
	master := freeport.Addr(t)
	env := func(k string) string {
		if k == contract.EnvClusterToken {
			return "tok"
		}
		return ""
	}
	common := []string{"--http", "127.0.0.1:0", "--heartbeat-interval", "100ms"}
	start := func(ctx context.Context, out *nodebin.Output, args ...string) <-chan int {
		done := make(chan int, 1)
		go func() { done <- run(ctx, append(args, common...), env, out) }()
		return done
	}
	waitLog := func(out *nodebin.Output, line string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), line) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in log:\n%s", line, out.String())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mOut, aOut, bOut nodebin.Output
	mDone := start(ctx, &mOut, "--role", "master", "--name", "m", "--listen", master)
	waitLog(&mOut, "Node running")
	aCtx, aCancel := context.WithCancel(ctx)
	defer aCancel()
	aDone := start(aCtx, &aOut, "--role", "slave", "--name", "dup", "--listen", "127.0.0.1:0", "--master", master)
	waitLog(&aOut, "Node running")
	bCtx, bCancel := context.WithTimeout(ctx, 10*time.Second)
	defer bCancel()
	select {
	case code := <-start(bCtx, &bOut, "--role", "slave", "--name", "dup", "--listen", "127.0.0.1:0", "--master", master):
		if code != node.ExitDuplicate {
			t.Errorf("second node named dup exited %d, want %d; log:\n%s", code, node.ExitDuplicate, bOut.String())
		}
	case <-time.After(10 * time.Second):
		t.Error("second node named dup did not exit")
	}
	aCancel() // the slave leaves first, while the master still hears it
	if code := <-aDone; code != node.ExitOK {
		t.Errorf("live node exited %d; log:\n%s", code, aOut.String())
	}
	cancel()
	if code := <-mDone; code != node.ExitOK {
		t.Errorf("master exited %d", code)
	}

}
