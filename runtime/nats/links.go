package nats

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	natsgo "github.com/nats-io/nats.go"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/transport"
)

// DefaultQueueBytes bounds the frames waiting for one node when
// Options.QueueBytes is zero.
const DefaultQueueBytes = 4 << 20

// Options configure the NATS delivery backend.
type Options struct {
	// URL is the NATS server URL (comma-separated for several); required.
	URL string
	// Prefix starts every subject; required (one per cluster).
	Prefix string
	// Name is the connection name shown by the NATS server (the node name).
	Name string
	// Token, CredsFile and NKeySeedFile authenticate, at most one of them.
	Token, CredsFile, NKeySeedFile string
	// TLS, if set, protects the connection (client certificate, private CA).
	TLS *tls.Config
	// MaxFrame bounds one frame's payload (transport.DefaultMaxFrame).
	MaxFrame int
	// QueueBytes bounds the frames waiting for one node (DefaultQueueBytes);
	// beyond it a send fails with transport.ErrQueueFull.
	QueueBytes int
	// PendingMessages and PendingBytes bound what this node's subscription
	// buffers before the client drops messages (a slow consumer); zero keeps
	// nats.go's defaults (512Ki messages, 64 MiB).
	PendingMessages, PendingBytes int
	// ReconnectWait is the pause between reconnection attempts (250ms).
	ReconnectWait time.Duration
	// Log receives the backend's logs (default: discard).
	Log logr.Logger
}

// Stats count the backend's traffic and trouble.
type Stats struct {
	// Published counts NATS messages sent, Frames the frames they carried.
	Published, Frames atomic.Uint64
	// Received counts NATS messages received.
	Received atomic.Uint64
	// SlowConsumers counts slow-consumer events on this node's subscription.
	SlowConsumers atomic.Uint64
	// Disconnects counts connections to NATS lost.
	Disconnects atomic.Uint64
	// BadMessages counts received messages that did not split into frames.
	BadMessages atomic.Uint64
}

// Links is the NATS delivery backend; it implements cluster.Links.
type Links struct {
	opts  Options
	log   logr.Logger
	stats Stats

	ncp atomic.Pointer[natsgo.Conn] // set once by Start; read on every send

	mu    sync.Mutex
	nc    *natsgo.Conn
	sub   *natsgo.Subscription
	in    cluster.LinkInput
	peers map[uint16]*peer
	ready []*peer // peers with frames waiting for the flusher
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}

	probes sync.WaitGroup // probe goroutines, joined by Close
}

// New checks opts; nothing connects until Start.
func New(opts Options) (*Links, error) {
	if opts.URL == "" {
		return nil, errors.New("nats: a server URL is required")
	}
	if opts.Prefix == "" {
		return nil, errors.New("nats: a subject prefix is required")
	}
	auth := 0
	for _, s := range []string{opts.Token, opts.CredsFile, opts.NKeySeedFile} {
		if s != "" {
			auth++
		}
	}
	if auth > 1 {
		return nil, errors.New("nats: give at most one of token, credentials file and NKey seed file")
	}
	if opts.MaxFrame <= 0 {
		opts.MaxFrame = transport.DefaultMaxFrame
	}
	if opts.QueueBytes <= 0 {
		opts.QueueBytes = DefaultQueueBytes
	}
	if opts.ReconnectWait <= 0 {
		opts.ReconnectWait = 250 * time.Millisecond
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	return &Links{opts: opts, log: opts.Log, peers: map[uint16]*peer{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}, nil
}

// Subject returns the subject node id listens on.
func (l *Links) Subject(id uint16) string {
	return l.opts.Prefix + ".node." + strconv.Itoa(int(id))
}

// Stats returns the backend's counters.
func (l *Links) Stats() *Stats { return &l.stats }

// Connected reports whether the connection to NATS is up.
func (l *Links) Connected() bool {
	l.mu.Lock()
	nc := l.nc
	l.mu.Unlock()
	return nc != nil && nc.IsConnected()
}

func (l *Links) natsOptions() ([]natsgo.Option, error) {
	o := []natsgo.Option{
		natsgo.Name(l.opts.Name), natsgo.MaxReconnects(-1), natsgo.ReconnectWait(l.opts.ReconnectWait),
		natsgo.RetryOnFailedConnect(true), natsgo.ReconnectJitter(0, 0),
		natsgo.DisconnectErrHandler(l.disconnected), natsgo.ReconnectHandler(l.reconnected),
		natsgo.ErrorHandler(l.asyncError),
	}
	switch {
	case l.opts.Token != "":
		o = append(o, natsgo.Token(l.opts.Token))
	case l.opts.CredsFile != "":
		o = append(o, natsgo.UserCredentials(l.opts.CredsFile))
	case l.opts.NKeySeedFile != "":
		nk, err := natsgo.NkeyOptionFromSeed(l.opts.NKeySeedFile)
		if err != nil {
			return nil, fmt.Errorf("nats: reading NKey seed: %w", err)
		}
		o = append(o, nk)
	}
	if l.opts.TLS != nil {
		o = append(o, natsgo.Secure(l.opts.TLS))
	}
	return o, nil
}

// Start implements cluster.Links: it connects (retrying in the background if
// the server is not up yet) and subscribes to node self's subject.
func (l *Links) Start(self uint16, in cluster.LinkInput) error {
	opts, err := l.natsOptions()
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.in = in
	l.mu.Unlock()
	nc, err := natsgo.Connect(l.opts.URL, opts...)
	if err != nil {
		return fmt.Errorf("nats: connecting to %s: %w", l.opts.URL, err)
	}
	sub, err := nc.Subscribe(l.Subject(self), l.receive)
	if err != nil {
		nc.Close()
		return fmt.Errorf("nats: subscribing to %s: %w", l.Subject(self), err)
	}
	if l.opts.PendingMessages > 0 || l.opts.PendingBytes > 0 {
		msgs, bytes := l.opts.PendingMessages, l.opts.PendingBytes
		if msgs <= 0 {
			msgs = natsgo.DefaultSubPendingMsgsLimit
		}
		if bytes <= 0 {
			bytes = natsgo.DefaultSubPendingBytesLimit
		}
		if err := sub.SetPendingLimits(msgs, bytes); err != nil {
			nc.Close()
			return fmt.Errorf("nats: setting pending limits: %w", err)
		}
	}
	// Wait until the server has the subscription: the node is already listed
	// by discovery, and NATS drops what is published to a subject nobody
	// subscribes to yet.
	if nc.IsConnected() {
		if err := nc.FlushTimeout(5 * time.Second); err != nil {
			l.log.Info("NATS did not confirm the subscription; frames sent meanwhile may be lost", "err", err.Error())
		}
	}
	l.mu.Lock()
	l.nc, l.sub = nc, sub
	l.mu.Unlock()
	l.ncp.Store(nc)
	go l.flushLoop() // joined in Close
	l.log.Info("Delivery over NATS", "url", l.opts.URL, "subject", l.Subject(self), "connected", nc.IsConnected())
	return nil
}

// receive splits a NATS message into frames.
func (l *Links) receive(m *natsgo.Msg) {
	if m.Reply != "" && len(m.Data) == 0 { // a probe: this subscription is active
		if err := m.Respond(nil); err != nil {
			l.log.V(1).Info("Probe not answered", "err", err.Error())
		}
		return
	}
	l.stats.Received.Add(1)
	data := m.Data
	for len(data) > 0 {
		if len(data) < transport.HeaderSize {
			l.stats.BadMessages.Add(1)
			return
		}
		n := binary.LittleEndian.Uint32(data)
		data = data[transport.HeaderSize:]
		if uint64(n) > uint64(len(data)) || uint64(n) > uint64(l.opts.MaxFrame) {
			l.stats.BadMessages.Add(1)
			l.log.V(1).Info("Dropping malformed NATS message", "subject", m.Subject, "frame", n, "left", len(data))
			return
		}
		l.in.Frame(data[:n])
		data = data[n:]
	}
}

func (l *Links) disconnected(_ *natsgo.Conn, err error) {
	l.stats.Disconnects.Add(1)
	l.mu.Lock()
	in := l.in
	l.mu.Unlock()
	if err == nil {
		err = errors.New("connection closed")
	}
	l.log.Info("Lost NATS; reconnecting", "url", l.opts.URL, "err", err.Error())
	if in != nil {
		in.Lost(fmt.Errorf("nats %s: %w", l.opts.URL, err))
	}
}

func (l *Links) reconnected(nc *natsgo.Conn) {
	l.log.Info("Reconnected to NATS", "url", nc.ConnectedUrlRedacted())
}

func (l *Links) asyncError(_ *natsgo.Conn, sub *natsgo.Subscription, err error) {
	if errors.Is(err, natsgo.ErrSlowConsumer) {
		l.stats.SlowConsumers.Add(1)
		var dropped int
		if sub != nil {
			dropped, _ = sub.Dropped()
		}
		l.log.Error(err, "NATS slow consumer: this node's subscription fell behind and messages were dropped",
			"droppedSoFar", dropped, "events", l.stats.SlowConsumers.Load())
		return
	}
	l.log.Error(err, "NATS asynchronous error")
}

// To implements cluster.Links. The cluster asks again each time the node
// comes up: a new process under its id may not have subscribed yet, so its
// subscription is confirmed again before frames go out (probe.go).
func (l *Links) To(node uint16) (cluster.LinkSender, error) {
	l.mu.Lock()
	if l.nc == nil {
		l.mu.Unlock()
		return nil, fmt.Errorf("nats: not started: %w", cluster.ErrBackendDown)
	}
	p, ok := l.peers[node]
	if !ok {
		p = &peer{l: l, subj: l.Subject(node)}
		l.peers[node] = p
	}
	l.mu.Unlock()
	l.probe(p)
	return p, nil
}

// Close implements cluster.Links: it publishes what is queued, flushes the
// connection until ctx ends and closes it.
func (l *Links) Close(ctx context.Context) error {
	l.mu.Lock()
	nc := l.nc
	l.mu.Unlock()
	if nc == nil {
		return nil
	}
	l.mu.Lock()
	select {
	case <-l.stop:
		l.mu.Unlock()
		return nil
	default:
	}
	close(l.stop) // under mu: no probe starts after this
	l.mu.Unlock()
	<-l.done
	l.probes.Wait()
	var err error
	if nc.IsConnected() {
		if ferr := nc.FlushWithContext(ctx); ferr != nil {
			err = fmt.Errorf("nats: flushing: %w", ferr)
		}
	}
	nc.Close()
	return err
}

// flushLoop publishes the frames queued by Encode, one message per node
// per round.
func (l *Links) flushLoop() {
	defer close(l.done)
	var batch []*peer
	for {
		select {
		case <-l.wake:
		case <-l.stop:
			l.flushReady(batch)
			return
		}
		batch = l.flushReady(batch)
	}
}

func (l *Links) flushReady(batch []*peer) []*peer {
	l.mu.Lock()
	batch = append(batch[:0], l.ready...)
	clear(l.ready)
	l.ready = l.ready[:0]
	nc := l.nc
	l.mu.Unlock()
	for _, p := range batch {
		p.flush(nc)
	}
	clear(batch)
	return batch
}

func (l *Links) schedule(p *peer) {
	l.mu.Lock()
	l.ready = append(l.ready, p)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *Links) notConnected() error {
	return fmt.Errorf("nats %s: not connected: %w", l.opts.URL, cluster.ErrBackendDown)
}
