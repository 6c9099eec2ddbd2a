package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/core"
)

// firstID is the first node id handed out; 1 stays the master registry's
// MasterID, so ids mean the same in every mode.
const firstID = cluster.MasterID + 1

// Options configure the etcd discovery backend.
type Options struct {
	// Endpoints are the etcd client URLs; required.
	Endpoints []string
	// Prefix is the cluster's key prefix; required.
	Prefix string
	// Username and Password authenticate, if set.
	Username, Password string
	// TLS, if set, protects the connection (see LoadTLSDir).
	TLS *tls.Config
	// TTL is the node's lease (at least 2s, etcd's minimum; default 3s).
	TTL time.Duration
	// OpTimeout bounds one etcd operation (name registration, retries while
	// etcd is away); default 2s.
	OpTimeout time.Duration
	// Retry is the pause between attempts to reach etcd again (500ms).
	Retry time.Duration
	// Log receives the backend's logs (default: discard).
	Log logr.Logger
}

// Discovery is the etcd registry backend; it implements cluster.Discovery.
type Discovery struct {
	opts Options
	log  logr.Logger
	cli  *clientv3.Client
	ttl  int64

	// ctx bounds the lease keep-alive; cancelled by Leave and Close.
	ctx    context.Context //nolint:containedctx // owned by the backend, cancelled in Close
	cancel context.CancelFunc

	mu    sync.Mutex
	self  cluster.NodeEntry
	lease clientv3.LeaseID
	ka    <-chan *clientv3.LeaseKeepAliveResponse
	rev   int64 // revision of the tables last loaded
	feed  cluster.Feed
	owned map[string]uint64
	left  bool
}

// New connects lazily to etcd (nothing blocks until Join).
func New(opts Options) (*Discovery, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("etcd: at least one endpoint is required")
	}
	if opts.Prefix == "" {
		return nil, errors.New("etcd: a key prefix is required")
	}
	opts.Prefix = strings.TrimSuffix(opts.Prefix, "/") + "/"
	if opts.TTL <= 0 {
		opts.TTL = 3 * time.Second
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = 2 * time.Second
	}
	if opts.Retry <= 0 {
		opts.Retry = 500 * time.Millisecond
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: opts.Endpoints, Username: opts.Username, Password: opts.Password, TLS: opts.TLS,
		DialTimeout: opts.OpTimeout, DialKeepAliveTime: opts.TTL, DialKeepAliveTimeout: opts.OpTimeout,
		Logger: zap.NewNop(),
		// Reconnect within a second of etcd's return, not after gRPC's
		// default backoff (which grows to minutes).
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: opts.OpTimeout,
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: creating client for %v: %w", opts.Endpoints, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ttl := max(int64((opts.TTL+time.Second-1)/time.Second), 2)
	return &Discovery{opts: opts, log: opts.Log, cli: cli, ttl: ttl, ctx: ctx, cancel: cancel,
		owned: map[string]uint64{}}, nil
}

// LoadTLSDir builds a client TLS configuration from dir/ca.crt (the CA
// that signed etcd's certificate) and dir/tls.crt, dir/tls.key (this
// client's certificate), the layout of a Kubernetes TLS secret.
func LoadTLSDir(dir string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key"))
	if err != nil {
		return nil, fmt.Errorf("etcd: loading client certificate from %s: %w", dir, err)
	}
	pem, err := os.ReadFile(filepath.Join(dir, "ca.crt")) //nolint:gosec // the operator chooses the directory
	if err != nil {
		return nil, fmt.Errorf("etcd: reading CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("etcd: %s/ca.crt holds no PEM certificate", dir)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func (d *Discovery) key(parts ...string) string { return d.opts.Prefix + strings.Join(parts, "/") }

// unreachable wraps an etcd error so callers can tell an outage.
func (d *Discovery) unreachable(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "Unavailable") {
		return fmt.Errorf("etcd %v: %s: %w (%w)", d.opts.Endpoints, what, cluster.ErrBackendDown, err)
	}
	return fmt.Errorf("etcd: %s: %w", what, err)
}

// nodeValue is the JSON stored under P/nodes/<id>.
type nodeValue struct {
	Name string `json:"name"`
	Addr string `json:"addr"`
	Role string `json:"role"`
	Inc  uint64 `json:"inc,omitempty"`
	// Joining: listed, not yet announced (not up: nobody routes to it).
	Joining bool `json:"joining,omitempty"`
	// Draining: leaving gracefully, no new work (cluster.NodeEntry.Draining).
	Draining bool `json:"draining,omitempty"`
}

// Join implements cluster.Discovery. It retries until etcd answers or ctx
// ends.
func (d *Discovery) Join(ctx context.Context, self cluster.NodeEntry, feed cluster.Feed) (uint16, error) {
	for {
		id, err := d.join(ctx, self, feed)
		if err == nil || !errors.Is(err, cluster.ErrBackendDown) {
			return id, err
		}
		d.log.Info("Waiting for etcd", "endpoints", d.opts.Endpoints, "err", err.Error())
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("joining through etcd: %w (%w)", err, ctx.Err())
		case <-time.After(d.opts.Retry):
		}
	}
}

func (d *Discovery) join(ctx context.Context, self cluster.NodeEntry, feed cluster.Feed) (uint16, error) {
	octx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
	defer cancel()
	lease, err := d.cli.Grant(octx, d.ttl)
	if err != nil {
		return 0, d.unreachable("granting a lease", err)
	}
	var id uint16
	if self.Role == cluster.RoleClient {
		id, err = d.claimClientID(octx, self, lease.ID)
	} else {
		if err := d.checkNamesake(ctx, self); err != nil {
			_, _ = d.cli.Revoke(octx, lease.ID)
			return 0, err
		}
		id, err = d.allocate(octx, self, lease.ID)
	}
	if err != nil {
		return 0, err
	}
	self.ID, self.Up, self.Draining = id, false, false // listed as joining until Announce
	ka, err := d.cli.KeepAlive(d.ctx, lease.ID)
	if err != nil {
		return 0, d.unreachable("keeping the lease alive", err)
	}
	d.mu.Lock()
	d.self, d.lease, d.ka, d.feed = self, lease.ID, ka, feed
	d.mu.Unlock()
	if err := d.reload(octx); err != nil {
		return 0, err
	}
	d.log.Info("Joined through etcd", "id", id, "lease", int64(lease.ID), "ttl", d.ttl)
	return id, nil
}

// checkNamesake applies the master registry's rule for node names: a live
// node of another incarnation keeps its name and the newcomer is refused
// with cluster.ErrDuplicateName. A crashed namesake stays listed until its
// lease expires, so the newcomer waits up to one TTL for that before giving
// up; an entry of this very incarnation (a retry) is simply replaced.
func (d *Discovery) checkNamesake(ctx context.Context, self cluster.NodeEntry) error {
	deadline := time.Now().Add(d.opts.TTL + d.opts.OpTimeout)
	for {
		octx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
		holder, err := d.namesake(octx, self)
		cancel()
		if err != nil || holder == "" {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node name %q is held by a live node (id %s) of another incarnation: %w",
				self.Name, holder, cluster.ErrDuplicateName)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for node name %q: %w", self.Name, ctx.Err())
		case <-time.After(d.opts.Retry):
		}
	}
}

// namesake returns the id of a listed node called self.Name of another
// incarnation, or "". An entry of self's incarnation is revoked.
func (d *Discovery) namesake(ctx context.Context, self cluster.NodeEntry) (string, error) {
	resp, err := d.cli.Get(ctx, d.key("byname", self.Name))
	if err != nil {
		return "", d.unreachable("reading node names", err)
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	id, lease := string(resp.Kvs[0].Value), clientv3.LeaseID(resp.Kvs[0].Lease)
	node, err := d.cli.Get(ctx, d.key("nodes", id))
	if err != nil {
		return "", d.unreachable("reading a node", err)
	}
	var v nodeValue
	if len(node.Kvs) > 0 {
		_ = json.Unmarshal(node.Kvs[0].Value, &v)
	}
	if v.Inc != 0 && v.Inc != self.Inc {
		return id, nil
	}
	d.log.Info("Replacing a stale entry of this node", "name", self.Name, "id", id)
	if _, err := d.cli.Revoke(ctx, lease); err != nil && !strings.Contains(err.Error(), "not found") {
		return "", d.unreachable("revoking a stale entry", err)
	}
	return "", nil
}

// allocate takes the next node id in a transaction and lists the node.
func (d *Discovery) allocate(ctx context.Context, self cluster.NodeEntry, lease clientv3.LeaseID) (uint16, error) {
	self.Up = false // joining
	val, err := jsonNode(self)
	if err != nil {
		return 0, err
	}
	next := d.key("nextid")
	for {
		resp, err := d.cli.Get(ctx, next)
		if err != nil {
			return 0, d.unreachable("reading the id counter", err)
		}
		id := uint64(firstID)
		cmp := clientv3.Compare(clientv3.CreateRevision(next), "=", 0)
		if len(resp.Kvs) > 0 {
			if id, err = strconv.ParseUint(string(resp.Kvs[0].Value), 10, 64); err != nil {
				return 0, fmt.Errorf("etcd: id counter %q: %w", resp.Kvs[0].Value, err)
			}
			cmp = clientv3.Compare(clientv3.ModRevision(next), "=", resp.Kvs[0].ModRevision)
		}
		if id >= clientBase {
			return 0, fmt.Errorf("etcd: no node id left: all %d have been used (ids are never reused); use a new prefix", clientBase-firstID)
		}
		sid := strconv.FormatUint(id, 10)
		txn, err := d.cli.Txn(ctx).If(cmp).Then(
			clientv3.OpPut(next, strconv.FormatUint(id+1, 10)),
			clientv3.OpPut(d.key("nodes", sid), val, clientv3.WithLease(lease)),
			clientv3.OpPut(d.key("byname", self.Name), sid, clientv3.WithLease(lease)),
		).Commit()
		if err != nil {
			return 0, d.unreachable("allocating a node id", err)
		}
		if txn.Succeeded {
			return uint16(id), nil
		}
	}
}

// reload reads the tables and hands them to the feed as a welcome.
func (d *Discovery) reload(ctx context.Context) error {
	resp, err := d.cli.Get(ctx, d.opts.Prefix, clientv3.WithPrefix())
	if err != nil {
		return d.unreachable("reading the tables", err)
	}
	welcome := &cluster.Control{Type: cluster.CtlWelcome}
	for _, kv := range resp.Kvs {
		switch kind, rest := d.split(string(kv.Key)); kind {
		case "nodes":
			if n, ok := d.node(rest, kv.Value); ok {
				welcome.Nodes = append(welcome.Nodes, n)
			}
		case "names":
			if svc, err := strconv.ParseUint(string(kv.Value), 10, 64); err == nil {
				welcome.Names = append(welcome.Names, cluster.NameEntry{Name: rest, ID: svc})
			}
		}
	}
	d.mu.Lock()
	d.rev = resp.Header.Revision
	feed := d.feed
	d.mu.Unlock()
	feed.Apply(welcome)
	return nil
}

// split returns the table a key belongs to and the rest of the key.
func (d *Discovery) split(key string) (string, string) {
	kind, rest, _ := strings.Cut(strings.TrimPrefix(key, d.opts.Prefix), "/")
	return kind, rest
}

func (d *Discovery) node(id string, val []byte) (cluster.NodeEntry, bool) {
	n, err := strconv.ParseUint(id, 10, 16)
	var v nodeValue
	if err != nil || json.Unmarshal(val, &v) != nil {
		d.log.V(1).Info("Ignoring malformed node key", "id", id)
		return cluster.NodeEntry{}, false
	}
	return cluster.NodeEntry{ID: uint16(n), Name: v.Name, Addr: v.Addr, Role: v.Role, Up: !v.Joining,
		Draining: v.Draining, Inc: v.Inc}, true
}

// AddName implements cluster.Discovery.
func (d *Discovery) AddName(ctx context.Context, name string, svc uint64) error {
	d.mu.Lock()
	self, lease := d.self.ID, d.lease
	d.mu.Unlock()
	if uint16(core.ServiceID(svc).Node()) != self {
		return fmt.Errorf("name %q: service %v is not on node %d: %w", name, core.ServiceID(svc), self, core.ErrBadArgs)
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
	defer cancel()
	if err := d.putName(ctx, lease, name, svc); err != nil {
		return err
	}
	d.mu.Lock()
	d.owned[name] = svc
	d.mu.Unlock()
	return nil
}

// putName creates P/names/<name> for svc unless another service holds it.
func (d *Discovery) putName(ctx context.Context, lease clientv3.LeaseID, name string, svc uint64) error {
	k, v := d.key("names", name), strconv.FormatUint(svc, 10)
	txn, err := d.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, v, clientv3.WithLease(lease))).
		Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		return d.unreachable(fmt.Sprintf("registering name %q", name), err)
	}
	if txn.Succeeded {
		return nil
	}
	var kvs []*mvccpb.KeyValue
	if len(txn.Responses) > 0 {
		kvs = txn.Responses[0].GetResponseRange().GetKvs()
	}
	if len(kvs) == 0 { // released between the compare and the read: try again
		return d.putName(ctx, lease, name, svc)
	}
	if string(kvs[0].Value) == v {
		return nil
	}
	held, _ := strconv.ParseUint(string(kvs[0].Value), 10, 64)
	return fmt.Errorf("name %q held by %v: %w", name, core.ServiceID(held), core.ErrNameTaken)
}

// DelName implements cluster.Discovery.
func (d *Discovery) DelName(ctx context.Context, name string, svc uint64) error {
	d.mu.Lock()
	if d.owned[name] == svc {
		delete(d.owned, name)
	}
	d.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
	defer cancel()
	k := d.key("names", name)
	_, err := d.cli.Txn(ctx).If(clientv3.Compare(clientv3.Value(k), "=", strconv.FormatUint(svc, 10))).
		Then(clientv3.OpDelete(k)).Commit()
	if err != nil {
		return d.unreachable(fmt.Sprintf("releasing name %q", name), err)
	}
	return nil
}

// Leave implements cluster.Discovery: revoking the lease removes the node
// and its names in one revision.
func (d *Discovery) Leave(ctx context.Context) error {
	d.mu.Lock()
	d.left = true
	lease := d.lease
	clear(d.owned)
	d.mu.Unlock()
	if lease == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
	defer cancel()
	if _, err := d.cli.Revoke(ctx, lease); err != nil {
		return d.unreachable("revoking the lease", err)
	}
	return nil
}

// Close implements cluster.Discovery.
func (d *Discovery) Close() error {
	d.cancel()
	if err := d.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("etcd: closing client: %w", err)
	}
	return nil
}

// jsonNode is n's value under P/nodes/<id>: a node not up is joining.
func jsonNode(n cluster.NodeEntry) (string, error) {
	val, err := json.Marshal(nodeValue{Name: n.Name, Addr: n.Addr, Role: n.Role, Inc: n.Inc, Joining: !n.Up, Draining: n.Draining})
	if err != nil {
		return "", fmt.Errorf("etcd: encoding node entry: %w", err)
	}
	return string(val), nil
}
