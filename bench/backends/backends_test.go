package backends

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/etcd"
	"github.com/lotou-io/lotou/runtime/etcd/etcdtest"
	"github.com/lotou-io/lotou/runtime/nats"
	"github.com/lotou-io/lotou/runtime/nats/natstest"
	"github.com/lotou-io/lotou/runtime/node"
	"github.com/lotou-io/lotou/runtime/transport"
)

// window bounds the one-way messages in flight so no mailbox overflows.
const window = 1 << 15

type setup struct {
	etcd   *etcdtest.Server
	nats   *natstest.Server
	prefix string
	master string
}

var seq atomic.Uint64

func newSetup(b *testing.B, withEtcd, withNATS bool) *setup {
	b.Helper()
	s := &setup{prefix: fmt.Sprintf("bench%d", seq.Add(1))}
	if withEtcd {
		s.etcd = etcdtest.Start(b)
	}
	if withNATS {
		s.nats = natstest.Start(b, "")
	}
	return s
}

type member struct {
	cl    *cluster.Cluster
	core  *core.Core
	links *nats.Links
	done  chan struct{}
	stop  func(leave bool)
}

func (s *setup) start(b *testing.B, role, name string) *member {
	b.Helper()
	o := cluster.Options{Role: role, Name: name, Listen: "127.0.0.1:0", Master: s.master, Token: []byte("bench"),
		Codec: node.NewCodec(), QueueBytes: 64 << 20}
	m := &member{done: make(chan struct{})}
	if s.etcd != nil {
		d, err := etcd.New(etcd.Options{Endpoints: []string{s.etcd.Endpoint()}, Prefix: "/" + s.prefix, TTL: 2 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		o.Discovery = d
	}
	if s.nats != nil {
		l, err := nats.New(nats.Options{URL: s.nats.URL(), Prefix: s.prefix, Name: name, QueueBytes: 64 << 20})
		if err != nil {
			b.Fatal(err)
		}
		o.Links, m.links = l, l
	}
	cl, err := cluster.New(o)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cl.Start(); err != nil {
		b.Fatal(err)
	}
	if role == contract.RoleMaster && s.etcd == nil {
		s.master = cl.Addr()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
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
	go func() { _ = cl.Run(rctx); close(m.done) }() // joined by stop
	stopped := false
	m.cl, m.core = cl, k
	m.stop = func(leave bool) {
		if stopped {
			return
		}
		stopped = true
		if leave {
			cl.Leave()
		}
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		rstop()
		<-m.done
		_ = cl.Close(sctx)
		_ = k.Stop(sctx)
	}
	b.Cleanup(func() { m.stop(true) })
	return m
}

// pair starts the sender's node (master role) and the receiver's.
func (s *setup) pair(b *testing.B) (from, to *member) {
	b.Helper()
	from = s.start(b, contract.RoleMaster, "m")
	to = s.start(b, contract.RoleSlave, "s")
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

// counter is the receiving side of a one-way benchmark with a credit window.
type counter struct {
	got, target atomic.Int64
	wake, done  chan struct{}
}

func newCounter(n int) *counter {
	c := &counter{wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.target.Store(int64(n))
	return c
}

func (c *counter) hit() {
	n := c.got.Add(1)
	if n%(window/8) == 0 {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	if n == c.target.Load() {
		close(c.done)
	}
}

func (c *counter) before(i int) {
	for int64(i)-c.got.Load() >= window {
		<-c.wake
	}
}

var transports = []struct {
	name string
	nats bool
}{{"tcp", false}, {"nats", true}}

// BenchmarkSend: one-way sends to a service on another node, over direct
// TCP and over NATS (master discovery in both).
func BenchmarkSend(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			from, to := newSetup(b, false, tr.nats).pair(b)
			c := newCounter(b.N)
			if _, err := to.core.Spawn(context.Background(), "sink", func(s *core.Service) error {
				s.Handle("hit", func(int) { c.hit() })
				return nil
			}, core.WithMailboxSize(4*window)); err != nil {
				b.Fatal(err)
			}
			id := lookup(b, from.core, "sink")
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				c.before(i)
				for {
					err := from.core.Send(id, "hit", i)
					if err == nil {
						break
					}
					if !errors.Is(err, transport.ErrQueueFull) {
						b.Fatal(err)
					}
					runtime.Gosched()
				}
			}
			<-c.done
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			if from.links != nil {
				st := from.links.Stats()
				b.ReportMetric(float64(st.Frames.Load())/float64(max(st.Published.Load(), 1)), "frames/publish")
			}
		})
	}
}

// BenchmarkNATSPublishRaw is the ceiling for BenchmarkSend/nats: nats.go
// publishing messages of a Send frame's size to a subscriber, with the same
// credit window.
func BenchmarkNATSPublishRaw(b *testing.B) {
	s := newSetup(b, false, true)
	pub, sub := rawConn(b, s), rawConn(b, s)
	c := newCounter(b.N)
	if _, err := sub.Subscribe("raw.sink", func(*natsgo.Msg) { c.hit() }); err != nil {
		b.Fatal(err)
	}
	if err := sub.Flush(); err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 22) // a framed Send(svc, "hit", i)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		c.before(i)
		if err := pub.Publish("raw.sink", msg); err != nil {
			b.Fatal(err)
		}
	}
	<-c.done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func rawConn(b *testing.B, s *setup) *natsgo.Conn {
	b.Helper()
	nc, err := natsgo.Connect(s.nats.URL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	return nc
}

// BenchmarkCall: sequential calls to an echo service on another node.
func BenchmarkCall(b *testing.B) {
	for _, tr := range transports {
		b.Run(tr.name, func(b *testing.B) {
			from, to := newSetup(b, false, tr.nats).pair(b)
			if _, err := node.StartEcho(context.Background(), to.core, "s"); err != nil {
				b.Fatal(err)
			}
			id := lookup(b, from.core, contract.EchoName("s"))
			ctx := context.Background()
			if _, err := from.core.Call(ctx, id, "echo", 42); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := from.core.Call(ctx, id, "echo", 42); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNATSRequestRaw is the ceiling for BenchmarkCall/nats: nats.go
// request-reply (through a NATS inbox) with a responder echoing the data.
func BenchmarkNATSRequestRaw(b *testing.B) {
	s := newSetup(b, false, true)
	req, rep := rawConn(b, s), rawConn(b, s)
	if _, err := rep.Subscribe("raw.echo", func(m *natsgo.Msg) { _ = m.Respond(m.Data) }); err != nil {
		b.Fatal(err)
	}
	if err := rep.Flush(); err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 22)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := req.Request("raw.echo", msg, 5*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

var discoveries = []struct {
	name string
	etcd bool
}{{"master", false}, {"etcd", true}}

// BenchmarkRegister: latency of registering a global name from a slave
// (master: a round trip to the master; etcd: a transaction).
func BenchmarkRegister(b *testing.B) {
	for _, d := range discoveries {
		b.Run(d.name, func(b *testing.B) {
			s := newSetup(b, d.etcd, false)
			_, slave := s.pair(b)
			svc, err := slave.core.Spawn(context.Background(), ".holder", func(*core.Service) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := slave.cl.Register(ctx, fmt.Sprintf("name-%d", i), svc.ID()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLookup: a global name lookup on a slave, served by its cache in
// both modes.
func BenchmarkLookup(b *testing.B) {
	for _, d := range discoveries {
		b.Run(d.name, func(b *testing.B) {
			s := newSetup(b, d.etcd, false)
			m, slave := s.pair(b)
			if _, err := node.StartEcho(context.Background(), m.core, "m"); err != nil {
				b.Fatal(err)
			}
			lookup(b, slave.core, contract.EchoName("m"))
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := slave.core.Lookup(ctx, "echo:m"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDetectKill: time from a node's crash (closed without leaving)
// until another node sees it down. Master: heartbeat 1s (the default), 3 missed (the
// closed connection shortens it to one interval); etcd: a 2s lease (etcd's
// minimum). Reported as detect-ms; run with -benchtime=Nx.
func BenchmarkDetectKill(b *testing.B) {
	for _, d := range discoveries {
		b.Run(d.name, func(b *testing.B) {
			s := newSetup(b, d.etcd, false)
			obs := s.start(b, contract.RoleMaster, "m")
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				victim := s.start(b, contract.RoleSlave, fmt.Sprintf("v%d", i))
				id := uint16(victim.cl.ID())
				waitUp(b, obs, id, true)
				b.StartTimer()
				start := time.Now()
				victim.stop(false)
				waitUp(b, obs, id, false)
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "detect-ms")
		})
	}
}

func waitUp(b *testing.B, m *member, id uint16, up bool) {
	b.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		isUp := false
		for _, n := range m.cl.Nodes() {
			if n.ID == id && n.Up {
				isUp = true
			}
		}
		if isUp == up {
			return
		}
		time.Sleep(time.Millisecond)
	}
	b.Fatalf("node %d up=%v not seen within 15s", id, up)
}
