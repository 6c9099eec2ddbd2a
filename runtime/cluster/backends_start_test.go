package cluster_test

import (
	"context"
	"errors"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// testStartingNode: a call to a node that has joined but has not attached
// its core yet (over NATS: not subscribed to its subject yet) gets an
// answer at once or is held until the node receives, never silence. NATS
// drops a message published to a subject nobody subscribes to, so before
// the fix such a call waited out its whole timeout. With etcd the node is
// listed as joining until it is announced (the call fails with
// ErrNodeDown); with the master over NATS the frame is held until the
// node's subscription answers a probe; over TCP the node answers "starting".
func testStartingNode(w *world) {
	m := w.start(contract.RoleMaster, "m", "")
	type result struct {
		err  error
		took time.Duration
	}
	res := make(chan result, 1)
	w.beforeAttach = func(id core.NodeID) {
		w.beforeAttach = nil
		waitFor(w.t, "m lists b", w.detect(), func() bool {
			for _, n := range m.cl.Nodes() {
				if n.ID == uint16(id) {
					return true
				}
			}
			return false
		})
		sent := m.cl.Stats().Out[core.KindCall].Load()
		var inMsgs int64
		if w.c.nats {
			inMsgs = w.srv.nats.InMsgs()
		}
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			_, err := m.core.Call(ctx, core.MakeID(id, 1), "echo", "early")
			res <- result{err, time.Since(start)}
		}()
		// b attaches (and subscribes) only once the call has left m and,
		// over NATS, reached the server.
		waitFor(w.t, "the call sent or refused", 2*time.Second, func() bool {
			switch {
			case len(res) > 0:
				return true
			case m.cl.Stats().Out[core.KindCall].Load() == sent:
				return false
			default:
				return !w.c.nats || w.srv.nats.InMsgs() > inMsgs
			}
		})
	}
	w.start(contract.RoleSlave, "b", "")
	r := <-res
	if r.took > 2*time.Second || errors.Is(r.err, core.ErrCallTimeout) || errors.Is(r.err, context.DeadlineExceeded) {
		w.t.Fatalf("call to the starting node: %v after %v: its frame was lost", r.err, r.took)
	}
	w.t.Logf("call to the starting node: %v after %v", r.err, r.took)
	waitFor(w.t, "m learns echo:b", 5*time.Second, func() bool { return m.knows("echo:b") })
	if out, err := m.call("echo:b", "echo", 2*time.Second); err != nil || len(out) != 1 {
		w.t.Fatalf("m calls the started b: %v %v", out, err)
	}

}
