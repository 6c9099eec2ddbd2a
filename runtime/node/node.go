package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// standaloneID is the node id of a node without a cluster.
const standaloneID core.NodeID = 1

// Node is one running Lotou node. Create it with New and start it with Run.
type Node struct {
	opts    Options
	log     logr.Logger
	cl      *cluster.Cluster // nil when standalone
	metrics *metrics

	mu       sync.Mutex
	core     *core.Core
	httpAddr net.Addr
	addr     string
	started  chan struct{}   // closed once the core runs (or Run failed)
	services []*core.Service // built-in services, for the mailbox depth metric
	ready    atomic.Bool
	views    *viewCache // the rendered /cluster document
}

// New validates opts and prepares a node. Nothing listens until Run.
func New(opts Options) (*Node, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("invalid node options: %w", err)
	}
	if opts.Codec == nil {
		opts.Codec = NewCodec()
	}
	n := &Node{opts: opts, log: opts.Log, started: make(chan struct{}), views: newViewCache()}
	n.metrics = newMetrics(n)
	if opts.Role == contract.RoleStandalone {
		return n, nil
	}
	disc, links, err := n.backends()
	if err != nil {
		return nil, fmt.Errorf("creating node backends: %w", err)
	}
	cl, err := cluster.New(cluster.Options{
		Role: opts.Role, Name: opts.Name, Listen: opts.Listen, Advertise: opts.Advertise, Master: opts.Master,
		Token: opts.Token, TLS: opts.tls, Encrypt: opts.Encrypt, Heartbeat: opts.Heartbeat, Codec: opts.Codec,
		ObserveCall: n.metrics.observeCall, Log: opts.Log.WithName("cluster"), Discovery: disc, Links: links,
	})
	if err != nil {
		return nil, fmt.Errorf("creating node: %w", err)
	}
	n.cl = cl
	return n, nil
}

// NewCodec returns a codec registry holding the core's named types, so that
// a ServiceID crosses nodes as a ServiceID.
func NewCodec() *codec.Registry {
	r := codec.NewRegistry()
	if err := r.RegisterName("lotou.ServiceID", core.ServiceID(0)); err != nil {
		panic(fmt.Sprintf("registering lotou.ServiceID: %v", err)) // static input; cannot fail
	}
	return r
}

// Core returns the node's core once running, else nil.
func (n *Node) Core() *core.Core {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.core
}

// builtins returns the built-in services started so far.
func (n *Node) builtins() []*core.Service {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]*core.Service(nil), n.services...)
}

// Started is closed once the core runs and its services (built-in, then
// Options.Start) are started, or once Run gave up.
func (n *Node) Started() <-chan struct{} { return n.started }

// HTTPAddr returns the bound HTTP address once Run has started, else nil.
func (n *Node) HTTPAddr() net.Addr {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.httpAddr
}

// Addr returns the advertised cluster address once listening.
func (n *Node) Addr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addr
}

// Ready reports whether the node serves: registered with the master (slave),
// serving (master), started (standalone).
func (n *Node) Ready() bool {
	if !n.ready.Load() {
		return false
	}
	return n.cl == nil || n.cl.Ready()
}

// View returns this node's view of the cluster.
func (n *Node) View() contract.ClusterView {
	if n.cl != nil {
		return n.cl.View()
	}
	v := contract.ClusterView{Self: n.opts.Name, Role: n.opts.Role, Globals: []contract.GlobalName{},
		Nodes: []contract.NodeInfo{{ID: uint16(standaloneID), Name: n.opts.Name, Role: n.opts.Role, Up: true}}}
	if k := n.Core(); k != nil && n.opts.Role == contract.RoleStandalone {
		for _, s := range n.opts.Services {
			name := contract.EchoName(n.opts.Name)
			if s == contract.EchoService {
				if id, err := k.Lookup(context.Background(), name); err == nil {
					v.Globals = append(v.Globals, contract.GlobalName{Name: name, ID: uint64(id)})
				}
			}
		}
	}
	return v
}

// Run starts the node and serves until ctx ends; then it leaves the cluster
// gracefully (names deregistered, queued messages drained) and returns.
func (n *Node) Run(ctx context.Context) (err error) {
	startedOnce := sync.OnceFunc(func() { close(n.started) })
	defer startedOnce()
	var wg sync.WaitGroup
	defer wg.Wait()

	var srv *http.Server
	if n.opts.HTTP != "-" {
		if srv, err = n.startHTTP(&wg); err != nil {
			return err
		}
		defer n.stopHTTP(srv)
	}
	id := standaloneID
	var inc core.Incarnation
	if n.cl != nil {
		inc = n.cl.Incarnation()
		bound, err := n.cl.Start()
		if err != nil {
			_ = n.cl.Close(ctx)
			return fmt.Errorf("starting cluster: %w", err)
		}
		n.mu.Lock()
		n.addr = n.cl.Addr()
		n.mu.Unlock()
		n.log.Info("Listening", "addr", bound.String(), "advertise", n.cl.Addr(), "role", n.opts.Role)
		if id, err = n.cl.Join(ctx); err != nil {
			_ = n.cl.Close(context.WithoutCancel(ctx))
			return fmt.Errorf("joining cluster: %w", err)
		}
	}
	k, err := core.New(core.Options{Node: id, Incarnation: inc, Logger: n.log.WithName("core"),
		StopTimeout: n.opts.DrainTimeout, CallTimeout: n.opts.CallTimeout})
	if err != nil {
		return fmt.Errorf("creating core: %w", err)
	}
	if n.cl != nil {
		if err := n.cl.Attach(k); err != nil {
			return err
		}
	}
	n.mu.Lock()
	n.core = k
	n.mu.Unlock()
	runErr := n.serve(ctx, k, startedOnce)
	return errors.Join(runErr, n.shutdown(ctx, k))
}

// serve starts the built-in services and waits for ctx or a fatal cluster
// error.
func (n *Node) serve(ctx context.Context, k *core.Core, started func()) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var clErr chan error // nil (never ready) when standalone
	if n.cl != nil {
		clErr = make(chan error, 1)
		go func() { clErr <- n.cl.Run(cctx) }() // joined below
	}
	var err error
	if err = n.startServices(ctx, k); err == nil {
		n.ready.Store(true)
		started()
		n.log.Info("Node running", "name", n.opts.Name, "id", uint16(k.Node()), "role", n.opts.Role)
		select {
		case <-ctx.Done():
		case err = <-clErr:
			clErr <- nil
		}
	}
	n.ready.Store(false)
	cancel()
	if clErr != nil {
		err = errors.Join(err, <-clErr)
	}
	return err
}

func (n *Node) startServices(ctx context.Context, k *core.Core) error {
	for _, s := range n.opts.Services {
		if s == contract.EchoService {
			sctx, cancel := context.WithTimeout(ctx, n.opts.CallTimeout)
			s, err := StartEcho(sctx, k, n.opts.Name)
			cancel()
			if err != nil {
				return err
			}
			n.mu.Lock()
			n.services = append(n.services, s)
			n.mu.Unlock()
		}
	}
	if n.opts.Start != nil {
		if err := n.opts.Start(ctx, k); err != nil {
			return fmt.Errorf("starting user services: %w", err)
		}
	}
	return nil
}

// shutdown leaves the cluster in two phases. Phase 1, draining: the master
// and every node learn that this node takes no new work (new Calls to it
// fail fast with core.ErrNodeDraining) while the core stops in order (stop
// hooks first, services still serving each other, then every mailbox
// drains) and the replies are written over the open links. Phase 2, left:
// names are released and the node leaves; only then are links closed.
// Options.DrainTimeout bounds the whole; see runtime/core/doc.go for what
// happens at the deadline.
func (n *Node) shutdown(ctx context.Context, k *core.Core) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.opts.DrainTimeout)
	defer cancel()
	n.log.Info("Draining", "name", n.opts.Name)
	if n.cl != nil {
		dctx, dcancel := context.WithTimeout(sctx, 2*n.opts.Heartbeat)
		n.cl.Drain(dctx)
		dcancel()
	}
	err := k.Stop(sctx)
	n.log.Info("Leaving", "name", n.opts.Name)
	if n.cl != nil {
		n.cl.Flush(sctx)
		n.cl.Leave()
		// The leave itself must go out even if draining used up sctx.
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout(sctx))
		defer ccancel()
		err = errors.Join(err, n.cl.Close(cctx))
	}
	return err
}

// closeTimeout is what is left of the drain deadline, but at least a
// second for the leave notice to be written.
func closeTimeout(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Second)
	}
	return time.Second
}
