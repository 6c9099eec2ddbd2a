package cluster

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/node"
	"github.com/lotou-io/lotou/runtime/transport"
)

// window bounds the messages in flight in one-way benchmarks, so that the
// receiver's mailbox never overflows (a dropped one-way message would never
// be counted).
const window = 1 << 15

type member struct {
	cl   *cluster.Cluster
	core *core.Core
	stop func()
}

func startMember(b *testing.B, role, name, master string, encrypt bool) *member {
	b.Helper()
	cl, err := cluster.New(cluster.Options{
		Role: role, Name: name, Listen: "127.0.0.1:0", Master: master, Token: []byte("bench"),
		Codec: node.NewCodec(), QueueBytes: 64 << 20, Encrypt: encrypt,
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cl.Start(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := cl.Join(ctx)
	if err != nil {
		b.Fatal(err)
	}
	k, err := core.New(core.Options{Node: id})
	if err != nil {
		b.Fatal(err)
	}
	if err := cl.Attach(k); err != nil {
		b.Fatal(err)
	}
	rctx, rstop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = cl.Run(rctx); close(done) }()
	return &member{cl: cl, core: k, stop: func() {
		cl.Leave()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_ = k.Stop(sctx)
		rstop()
		<-done
		_ = cl.Close(sctx)
	}}
}

// pairWith starts a master (the sender's node) and a slave (the receiver's),
// with frame encryption on or off (cluster.Options.Encrypt).
func pairWith(b *testing.B, encrypt bool) (from, to *member) {
	b.Helper()
	from = startMember(b, contract.RoleMaster, "m", "", encrypt)
	to = startMember(b, contract.RoleSlave, "s", from.cl.Addr(), encrypt)
	b.Cleanup(func() { to.stop(); from.stop() })
	return from, to
}

func lookup(b *testing.B, k *core.Core, name string) core.ServiceID {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := k.Lookup(ctx, name)
	if err != nil {
		b.Fatal(err)
	}
	return id
}

// BenchmarkRemoteSend measures one-way sends from one node to a service on
// another over loopback TCP.
func BenchmarkRemoteSend(b *testing.B) {
	benchRemoteSend(b, false, func(fl *flow) any { return func(int) { fl.hit() } },
		func(k *core.Core, id core.ServiceID, i int) error { return k.Send(id, "hit", i) })
}

// BenchmarkRemoteSendEncrypted is BenchmarkRemoteSend with every frame
// encrypted (AES-256-GCM records, Options.Encrypt).
func BenchmarkRemoteSendEncrypted(b *testing.B) {
	benchRemoteSend(b, true, func(fl *flow) any { return func(int) { fl.hit() } },
		func(k *core.Core, id core.ServiceID, i int) error { return k.Send(id, "hit", i) })
}

// BenchmarkRemoteSendArgs is BenchmarkRemoteSend with a typical argument
// list (int, string, []int32, time.Time) for a handler with those
// parameters.
func BenchmarkRemoteSendArgs(b *testing.B) {
	name, xs, at := "player-42", []int32{1, 2, 3, 4}, time.Unix(1700000000, 0)
	benchRemoteSend(b, false, func(fl *flow) any {
		return func(int, string, []int32, time.Time) { fl.hit() }
	}, func(k *core.Core, id core.ServiceID, i int) error { return k.Send(id, "hit", i, name, xs, at) })
}

func benchRemoteSend(b *testing.B, encrypt bool, handler func(*flow) any, send func(k *core.Core, id core.ServiceID, i int) error) {
	from, to := pairWith(b, encrypt)
	fl := newFlow()
	if _, err := to.core.Spawn(context.Background(), "sink", func(s *core.Service) error {
		s.Handle("hit", handler(fl))
		return nil
	}, core.WithMailboxSize(4*window)); err != nil {
		b.Fatal(err)
	}
	id := lookup(b, from.core, "sink")
	fl.expect(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		fl.before(i)
		for {
			err := send(from.core, id, i)
			if err == nil {
				break
			}
			if !errors.Is(err, transport.ErrQueueFull) {
				b.Fatal(err)
			}
			runtime.Gosched()
		}
	}
	fl.wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	var frames, writes uint64
	for _, p := range from.cl.PeerStats() {
		frames += p.Stats.FramesOut.Load()
		writes += p.Stats.Writes.Load()
	}
	if writes > 0 {
		b.ReportMetric(float64(frames)/float64(writes), "frames/write")
	}
}

// BenchmarkRemoteCall measures sequential blocking calls to a service on
// another node, and reports the bytes each call puts on the wire.
func BenchmarkRemoteCall(b *testing.B) { benchRemoteCall(b, false) }

// BenchmarkRemoteCallEncrypted is BenchmarkRemoteCall with every frame
// encrypted.
func BenchmarkRemoteCallEncrypted(b *testing.B) { benchRemoteCall(b, true) }

func benchRemoteCall(b *testing.B, encrypt bool) {
	from, to := pairWith(b, encrypt)
	if _, err := node.StartEcho(context.Background(), to.core, "s"); err != nil {
		b.Fatal(err)
	}
	id := lookup(b, from.core, contract.EchoName("s"))
	ctx := context.Background()
	if _, err := from.core.Call(ctx, id, "echo", 42); err != nil { // dial outside the timing
		b.Fatal(err)
	}
	before := outBytes(from.cl)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := from.core.Call(ctx, id, "echo", 42); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(outBytes(from.cl)-before)/float64(b.N), "wire-B/call")
	b.ReportMetric(float64(cluster.CallFrameSize()), "frame-B")
}

// outBytes sums the bytes written on the node's dialled links.
func outBytes(cl *cluster.Cluster) uint64 {
	var n uint64
	for _, p := range cl.PeerStats() {
		if p.Direction == "out" {
			n += p.Stats.BytesOut.Load()
		}
	}
	return n
}
