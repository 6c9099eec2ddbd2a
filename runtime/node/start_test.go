package node

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// TestCallTimeout: a Call without a deadline of its own, to a handler that
// never answers, fails with core.ErrCallTimeout after Options.CallTimeout.
func TestCallTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	release := make(chan struct{})
	r := run(t, Options{Name: "solo", CallTimeout: timeout, Start: func(ctx context.Context, k *core.Core) error {
		_, err := k.Spawn(ctx, "silent", func(s *core.Service) error {
			s.Handle("wait", func(*core.Context, []any) ([]any, error) {
				<-release // never answers while the caller waits
				return nil, nil
			})
			return nil
		})
		return err
	}})
	t.Cleanup(func() { close(release) }) // runs before the node stops
	k := r.n.Core()
	id, err := k.Lookup(context.Background(), "silent")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = k.Call(context.Background(), id, "wait")
	elapsed := time.Since(start)
	if !errors.Is(err, core.ErrCallTimeout) {
		t.Fatalf("err = %v, want ErrCallTimeout", err)
	}
	if elapsed < timeout || elapsed >= contract.DefaultCallTimeout {
		t.Fatalf("call failed after %v, want about %v", elapsed, timeout)
	}
}

func TestStartHook(t *testing.T) {
	var readyInStart bool
	var n *Node
	r := run(t, Options{Name: "solo", Start: func(ctx context.Context, k *core.Core) error {
		readyInStart = n.Ready()
		if _, err := k.Lookup(ctx, contract.EchoName("solo")); err != nil {
			return err // the built-in services run first
		}
		_, err := k.Spawn(ctx, "mine", func(s *core.Service) error {
			s.Handle("hi", func(*core.Context, []any) ([]any, error) { return []any{"hello"}, nil })
			return nil
		})
		return err
	}}, func(x *Node) { n = x })
	if readyInStart {
		t.Fatal("node reported ready before Start returned")
	}
	if code, _ := get(t, r, contract.PathReadyz); code != 200 {
		t.Fatalf("readyz %d after Start", code)
	}
	k := r.n.Core()
	id, err := k.Lookup(context.Background(), "mine")
	if err != nil {
		t.Fatal(err)
	}
	if ret, err := k.Call(context.Background(), id, "hi"); err != nil || len(ret) != 1 || ret[0] != "hello" {
		t.Fatalf("call: %v %v", ret, err)
	}
}

func TestStartHookError(t *testing.T) {
	boom := errors.New("boom")
	for _, role := range []string{contract.RoleStandalone, contract.RoleMaster} {
		t.Run(role, func(t *testing.T) {
			n, err := New(Options{Name: "solo", Role: role, Listen: "127.0.0.1:0", HTTP: "127.0.0.1:0", Token: []byte("tok"),
				Start: func(context.Context, *core.Core) error { return boom }})
			if err != nil {
				t.Fatal(err)
			}
			err = n.Run(context.Background()) // returns at once: no ctx cancel needed
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), "starting user services") {
				t.Fatalf("Run = %v, want wrapped boom", err)
			}
			if n.Ready() {
				t.Fatal("ready after a failed Start")
			}
		})
	}
}
