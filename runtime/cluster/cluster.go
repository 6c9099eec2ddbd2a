package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/transport"
)

// ErrNotJoined means the node has not (yet) been accepted by the master.
var ErrNotJoined = errors.New("cluster: not registered with the master")

// ErrDuplicateName means the master refused this node because a live node
// (another process, heartbeating and connected) already runs under its
// name. The live one keeps the name; this process must exit.
var ErrDuplicateName = errors.New("cluster: a live node already has this name")

// ErrIDChanged means the master gave this node a new id after a reconnect
// (its old id was taken meanwhile). The node's service ids are no longer
// valid: it must restart.
var ErrIDChanged = errors.New("cluster: master assigned a different node id")

// Options configure a Cluster.
type Options struct {
	// Role is contract.RoleMaster, contract.RoleSlave or RoleClient.
	Role string
	// Name is the node name, unique in the cluster.
	Name string
	// Listen is the address to accept peers on; empty for a client.
	Listen string
	// Advertise is the host:port other nodes dial to reach this node;
	// default: the bound listen address.
	Advertise string
	// Master is the master's host:port (slaves and clients).
	Master string
	// Token is the shared cluster secret.
	Token []byte
	// TLS, if set, protects every connection.
	TLS *tls.Config
	// Encrypt encrypts every frame after the handshake (transport.Options.Encrypt).
	Encrypt bool
	// Heartbeat is the heartbeat interval (contract.DefaultHeartbeatInterval).
	// A peer silent for contract.MissedHeartbeats intervals is down.
	Heartbeat time.Duration
	// LookupTimeout bounds the wait for a global name not known yet (1s).
	LookupTimeout time.Duration
	// MaxNamesPerNode and MaxNameBytesPerNode bound the global names one
	// node may hold in the master's table (DefaultMaxNamesPerNode, 1M, and
	// DefaultMaxNameBytesPerNode, 64 MiB of name text, when zero); a name
	// beyond them is refused with core.ErrTooLarge. Master only.
	MaxNamesPerNode     int
	MaxNameBytesPerNode int
	// DownRetention (master only) is how long a node that died stays listed
	// down before it is removed from every node table (default
	// DownRetentionBeats heartbeat timeouts). A node that leaves gracefully
	// is removed at once.
	DownRetention time.Duration
	// Codec encodes message arguments; required.
	Codec *codec.Registry
	// MaxFrame and QueueBytes tune the transport (see transport.Options).
	MaxFrame, QueueBytes int
	// BackoffMax bounds the re-dial delay (1s).
	BackoffMax time.Duration
	// ObserveCall, if set, is told the round-trip time of every remote call
	// and request answered.
	ObserveCall func(time.Duration)
	// Incarnation tells this process apart from earlier and later ones with
	// the same name or node id (default: random). Its low bits tag every
	// service id of the process (core.Options.Incarnation).
	Incarnation uint64
	// RegisterTimeout bounds the wait for the master's answer to a global
	// name registration whose ctx has no deadline (10s): a lost answer never
	// blocks a Spawn for ever.
	RegisterTimeout time.Duration
	// Now is the clock (time.Now).
	Now func() time.Time
	// Log receives the cluster's logs (default: discard).
	Log logr.Logger
	// Discovery and Links, if set, replace the master registry and direct
	// TCP links (see backend.go).
	Discovery Discovery
	Links     Links
}

// Cluster joins a node to the others: it drives the membership state
// machines from the network and a ticker, carries the core's remote messages
// (it implements core.Remote) and serves global names (core.Registry).
type Cluster struct {
	opts Options
	log  logr.Logger
	tr   *transport.Transport
	self atomic.Uint32 // node id, 0 until joined
	beat atomic.Int64  // heartbeat interval in force (the master's)
	core atomic.Pointer[core.Core]
	addr string // advertised address

	routes sync.Map // uint16 -> sender
	// draining holds the ids of nodes that are leaving (nil when none): no
	// new Call, Request or Send goes to them.
	draining atomic.Pointer[map[uint16]bool]
	asm      sync.Map // *transport.Conn -> *assembler: paged control messages
	drops    dropLog  // samples the log lines of frames dropped from peers
	inc      uint64
	stats    Stats
	enc      *msgEncoder
	cmds     cmdCache

	mu         sync.Mutex
	view       *View
	ms         *MasterState               // master only
	byNode     map[uint16]*transport.Conn // master: registered connections
	connNode   map[*transport.Conn]uint16 // master: connection → node
	inbound    map[uint16]*transport.Conn // accepted connections by handshake id
	master     *transport.Peer            // slave and client
	masterSeen time.Time
	joined     chan struct{}
	joinErr    error
	ready      bool
	owned      map[string]uint64      // names held by this node
	acks       map[uint64]pendingName // name registrations waiting for the master
	seq        uint64
	waiters    map[string][]chan struct{}
	fatal      chan error
	// lateFail holds nodes that left after draining: calls still pending on
	// them fail at the given time, not at once, so replies already on their
	// way over the direct link are not reported as failures.
	lateFail map[uint16]time.Time
	// held holds nodes the master reported down while this node's direct
	// link to them was up (see verdictLocked); gone remembers which node
	// held a name that a node-down removed (see LookupNow).
	held         map[uint16]heldNode
	gone         map[string]uint16
	selfDraining bool
	drainSeen    chan struct{} // closed when the master confirmed our draining
	lastTick     time.Time     // Run's goroutine only

	callMu    sync.Mutex
	callStart map[uint64]time.Time

	argBufs sync.Pool // *[4]any scratch for decoding arguments
}

// sender is what a message goes out through: an outbound Peer or an
// accepted Conn.
type sender interface {
	Encode(enc transport.Encoder, v any) error
	EncodeNow(enc transport.Encoder, v any) error
}

// msgEncoder encodes *core.Message payloads straight into send queues.
type msgEncoder struct {
	reg *codec.Registry
}

// EncodePayload implements transport.Encoder.
func (e *msgEncoder) EncodePayload(b []byte, v any) ([]byte, error) {
	m, ok := v.(*core.Message)
	if !ok {
		return b, fmt.Errorf("encoding %T: %w", v, ErrBadFrame)
	}
	return appendMessage(b, m, e.reg)
}

// New validates opts and builds a Cluster; nothing listens or dials until
// Start.
func New(opts Options) (*Cluster, error) {
	switch opts.Role {
	case contract.RoleMaster, contract.RoleSlave, RoleClient:
	default:
		return nil, fmt.Errorf("cluster: role %q is not master, slave or client", opts.Role)
	}
	if opts.Name == "" {
		return nil, errors.New("cluster: a node name is required")
	}
	if opts.Role != contract.RoleMaster && opts.Master == "" && opts.Discovery == nil {
		return nil, errors.New("cluster: the master address is required")
	}
	if opts.Role != RoleClient && opts.Listen == "" {
		return nil, errors.New("cluster: a listen address is required")
	}
	if opts.Codec == nil {
		return nil, errors.New("cluster: a codec registry is required")
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = contract.DefaultHeartbeatInterval
	}
	if opts.LookupTimeout <= 0 {
		opts.LookupTimeout = time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RegisterTimeout <= 0 {
		opts.RegisterTimeout = 10 * time.Second
	}
	for opts.Incarnation == 0 {
		opts.Incarnation = rand.Uint64() //nolint:gosec // telling processes apart needs no cryptographic randomness
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	c := &Cluster{
		opts: opts, log: opts.Log, view: NewView(),
		byNode: map[uint16]*transport.Conn{}, connNode: map[*transport.Conn]uint16{},
		inbound: map[uint16]*transport.Conn{}, joined: make(chan struct{}), owned: map[string]uint64{},
		acks: map[uint64]pendingName{}, waiters: map[string][]chan struct{}{}, fatal: make(chan error, 1),
		callStart: map[uint64]time.Time{}, enc: &msgEncoder{reg: opts.Codec},
		lateFail: map[uint16]time.Time{}, drainSeen: make(chan struct{}), inc: opts.Incarnation,
		held: map[uint16]heldNode{}, gone: map[string]uint16{},
	}
	c.argBufs.New = func() any { return new([4]any) }
	tr, err := transport.New(transport.Options{
		Self: transport.Identity{Name: opts.Name}, Token: opts.Token, TLS: opts.TLS, Encrypt: opts.Encrypt,
		MaxFrame: opts.MaxFrame, QueueBytes: opts.QueueBytes, Handler: c, Log: opts.Log.WithName("transport"),
		BackoffMin: min(50*time.Millisecond, opts.BackoffMax), BackoffMax: opts.BackoffMax,
		WriteTimeout: max(10*time.Second, contract.MissedHeartbeats*opts.Heartbeat),
	})
	if err != nil {
		return nil, fmt.Errorf("creating transport: %w", err)
	}
	c.tr = tr
	c.beat.Store(int64(opts.Heartbeat))
	return c, nil
}

// Start listens (master and slave) and, for slaves and clients, starts
// dialling the master. It returns the bound listen address, if any.
func (c *Cluster) Start() (net.Addr, error) {
	// Frames handled as soon as the listener accepts wait for c.mu: they
	// never meet a half-built state (no master table yet).
	c.mu.Lock()
	defer c.mu.Unlock()
	var bound net.Addr
	if c.opts.Listen != "" {
		a, err := c.tr.Listen(c.opts.Listen)
		if err != nil {
			return nil, err
		}
		bound = a
		c.addr = c.opts.Advertise
		if c.addr == "" {
			c.addr = defaultAdvertise(a)
			c.log.Info("No advertised address given; guessed one", "advertise", c.addr)
		}
	}
	if c.opts.Discovery != nil {
		return bound, nil // Join admits the node
	}
	if c.opts.Role == contract.RoleMaster {
		self := NodeEntry{Name: c.opts.Name, Addr: c.addr, Role: contract.RoleMaster, Inc: c.inc}
		timeout := contract.MissedHeartbeats * c.opts.Heartbeat
		c.ms = NewMasterState(self, timeout)
		c.ms.SetDownRetention(c.opts.DownRetention)
		c.ms.SetNameLimits(c.opts.MaxNamesPerNode, c.opts.MaxNameBytesPerNode)
		// Slaves of a previous master notice the restart within one timeout
		// and re-dial within BackoffMax: keep their ids out of reach until
		// then.
		span := int(RecoverTop - RecoverBase + 1)
		c.ms.Recover(c.opts.Now().Add(2*timeout+c.opts.BackoffMax), RecoverBase+uint16(rand.IntN(span))) //nolint:gosec // spreading ids needs no cryptographic randomness
		c.setSelf(MasterID)
		c.view.Apply(&Control{Type: CtlWelcome, Nodes: c.ms.Nodes()})
		c.ready = true
		close(c.joined)
		return bound, nil
	}
	c.master = c.tr.Peer(c.opts.Master)
	c.master.Connect()
	return bound, nil
}

// defaultAdvertise turns the bound address into one peers can dial: a
// wildcard host (":4000") becomes this machine's first non-loopback IP.
func defaultAdvertise(bound net.Addr) string {
	tcp, ok := bound.(*net.TCPAddr)
	if !ok || !tcp.IP.IsUnspecified() {
		return bound.String()
	}
	port := strconv.Itoa(tcp.Port)
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
				return net.JoinHostPort(ipn.IP.String(), port)
			}
		}
	}
	return net.JoinHostPort("127.0.0.1", port)
}

func (c *Cluster) setSelf(id uint16) {
	c.self.Store(uint32(id))
	c.tr.SetSelf(transport.Identity{ID: id, Name: c.opts.Name})
}

// Incarnation returns the tag of this process's service ids, derived from
// Options.Incarnation: give it to core.Options.Incarnation.
func (c *Cluster) Incarnation() core.Incarnation {
	return IncarnationTag(c.inc)
}

// IncarnationTag maps a 64-bit incarnation to the 14-bit tag carried in
// service ids: never 0.
func IncarnationTag(inc uint64) core.Incarnation {
	return core.Incarnation(inc%uint64(core.MaxIncarnation)) + 1
}

// heartbeat returns the interval in force: the master's once joined.
func (c *Cluster) heartbeat() time.Duration { return time.Duration(c.beat.Load()) }

// ID returns this node's id, 0 before joining.
func (c *Cluster) ID() core.NodeID { return core.NodeID(c.self.Load()) }

// Join waits until the master has accepted this node and returns its id.
func (c *Cluster) Join(ctx context.Context) (core.NodeID, error) {
	if c.opts.Discovery != nil {
		return c.joinDiscovery(ctx)
	}
	select {
	case <-c.joined:
		c.mu.Lock()
		err := c.joinErr
		c.mu.Unlock()
		if err != nil {
			return 0, err
		}
		return c.ID(), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("joining master %s: %w (%w)", c.opts.Master, ErrNotJoined, ctx.Err())
	}
}

// Attach plugs the cluster into a core created with the joined node id and
// Incarnation (a core without an incarnation is accepted, its ids are then
// not told apart across restarts): the core's remote messages and global
// names go through the cluster from now on.
func (c *Cluster) Attach(k *core.Core) error {
	if uint16(k.Node()) != uint16(c.ID()) {
		return fmt.Errorf("attaching core of node %d to cluster node %d: %w", k.Node(), c.ID(), ErrIDChanged)
	}
	if k.Incarnation() != 0 && k.Incarnation() != c.Incarnation() {
		return fmt.Errorf("attaching core of incarnation %d to cluster incarnation %d: %w", k.Incarnation(), c.Incarnation(), ErrIDChanged)
	}
	c.core.Store(k)
	k.SetRemote(c)
	k.SetRegistry(c)
	if err := c.attachLinks(); err != nil {
		return err
	}
	return c.announceDiscovery()
}

// Ready reports whether the node is registered with the master (for the
// master: serving).
func (c *Cluster) Ready() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ready && !c.selfDraining
}

// Run drives heartbeats and failure detection until ctx ends or the node
// must restart (ErrIDChanged).
func (c *Cluster) Run(ctx context.Context) error {
	step := max(min(c.opts.Heartbeat, 100*time.Millisecond)/4, time.Millisecond)
	if c.opts.Discovery != nil {
		// The backend detects failures; the grace timers of drained and
		// held nodes still run here.
		rctx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { c.expireLoop(rctx, step) })
		defer wg.Wait()
		defer cancel()
		return c.opts.Discovery.Run(ctx)
	}
	t := time.NewTicker(step)
	defer t.Stop()
	var lastBeat time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-c.fatal:
			return err
		case <-t.C:
		}
		now := c.opts.Now()
		c.failLate(now)
		c.expireHeld(now)
		beat := now.Sub(lastBeat) >= c.heartbeat()
		if beat {
			lastBeat = now
		}
		if c.opts.Role == contract.RoleMaster {
			c.masterTick(now, beat)
		} else {
			c.slaveTick(now, beat)
		}
	}
}

// expireLoop runs the grace timers (failLate, expireHeld) every step until
// ctx ends.
func (c *Cluster) expireLoop(ctx context.Context, step time.Duration) {
	t := time.NewTicker(step)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := c.opts.Now()
		c.failLate(now)
		c.expireHeld(now)
	}
}

// Addr returns the advertised address.
func (c *Cluster) Addr() string { return c.addr }

// Transport returns the cluster's transport, for its listener health and
// rejection counters.
func (c *Cluster) Transport() *transport.Transport { return c.tr }

// Role returns the node's role.
func (c *Cluster) Role() string { return c.opts.Role }

// Name returns the node's name.
func (c *Cluster) Name() string { return c.opts.Name }

// Nodes returns the members as this node sees them (for the master: its
// authoritative table).
func (c *Cluster) Nodes() []NodeEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ms != nil {
		return c.ms.Nodes()
	}
	return c.view.Nodes()
}

// Names returns the global names as this node sees them.
func (c *Cluster) Names() []NameEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ms != nil {
		return c.ms.Names()
	}
	return c.view.Names()
}

// View returns the contract.ClusterView served on /cluster.
func (c *Cluster) View() contract.ClusterView {
	v := contract.ClusterView{Self: c.opts.Name, Role: c.opts.Role, Nodes: []contract.NodeInfo{}, Globals: []contract.GlobalName{}}
	for _, n := range c.Nodes() {
		v.Nodes = append(v.Nodes, contract.NodeInfo{ID: n.ID, Name: n.Name, Addr: n.Addr, Role: n.Role, Up: n.Up})
	}
	for _, n := range c.Names() {
		v.Globals = append(v.Globals, contract.GlobalName{Name: n.Name, ID: n.ID})
	}
	return v
}
