package etcd

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lotou-io/lotou/runtime/cluster"
)

// clientBase is the first id of the range light clients (lotouctl) borrow:
// node ids stop below it. A client's id is held by P/clients/<id>, bound to
// its lease, and free again once the client leaves or its lease expires: a
// client holds no names and nobody routes to it but over the connection it
// opened, so its id may be reused, where a node's may not.
const clientBase = 0xff00

// Announce implements cluster.Discovery: the node's key loses its joining
// mark, and every watch lists the node up. Like Join it retries while etcd
// does not answer, until ctx ends.
func (d *Discovery) Announce(ctx context.Context) error {
	for {
		err := d.update(ctx, "announcing the node", func(n *cluster.NodeEntry) { n.Up = true })
		if err == nil || !errors.Is(err, cluster.ErrBackendDown) {
			return err
		}
		d.log.Info("Waiting for etcd to announce the node", "err", err.Error())
		select {
		case <-ctx.Done():
			return fmt.Errorf("announcing through etcd: %w (%w)", err, ctx.Err())
		case <-time.After(d.opts.Retry):
		}
	}
}

// Drain implements cluster.Discovery: the node's key gets the draining
// mark; every node routes no new work to it and fails new calls with
// core.ErrNodeDraining, as with the master registry.
func (d *Discovery) Drain(ctx context.Context) error {
	return d.update(ctx, "marking the node draining", func(n *cluster.NodeEntry) { n.Draining = true })
}

// update changes this node's entry and rewrites its key under its lease.
// Clients have no key.
func (d *Discovery) update(ctx context.Context, what string, change func(*cluster.NodeEntry)) error {
	d.mu.Lock()
	change(&d.self)
	self, lease := d.self, d.lease
	d.mu.Unlock()
	if self.Role == cluster.RoleClient || lease == 0 {
		return nil
	}
	val, err := jsonNode(self)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
	defer cancel()
	k := d.key("nodes", strconv.Itoa(int(self.ID)))
	// Only while the key is ours: after a lost lease, renew puts it back
	// with the entry as changed here.
	txn, err := d.cli.Txn(ctx).If(clientv3.Compare(clientv3.LeaseValue(k), "=", lease)).
		Then(clientv3.OpPut(k, val, clientv3.WithLease(lease))).Commit()
	if err != nil {
		return d.unreachable(what, err)
	}
	if !txn.Succeeded {
		d.log.Info("Node key not held by this lease; the renewal will write it", "what", what, "id", self.ID)
	}
	return nil
}

// claimClientID takes a free id in [clientBase, 0xffff) for a light client,
// starting at a random one so that clients starting together rarely meet.
func (d *Discovery) claimClientID(ctx context.Context, self cluster.NodeEntry, lease clientv3.LeaseID) (uint16, error) {
	const span = 0xffff - clientBase
	start := rand.IntN(span) //nolint:gosec // spreading ids needs no cryptographic randomness
	for i := range span {
		id := uint16(clientBase + (start+i)%span)
		ok, err := d.putClient(ctx, id, self.Name, lease)
		if err != nil {
			return 0, err
		}
		if ok {
			return id, nil
		}
	}
	return 0, fmt.Errorf("etcd: all %d client ids are in use", span)
}

// reclaimClientID puts a client's id back under a new lease after an outage.
func (d *Discovery) reclaimClientID(ctx context.Context, self cluster.NodeEntry) error {
	lease, err := d.cli.Grant(ctx, d.ttl)
	if err != nil {
		return d.unreachable("granting a lease", err)
	}
	ok, err := d.putClient(ctx, self.ID, self.Name, lease.ID)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("client id %d taken by another client during the outage: %w", self.ID, cluster.ErrIDChanged)
	}
	ka, err := d.cli.KeepAlive(d.ctx, lease.ID)
	if err != nil {
		return d.unreachable("keeping the lease alive", err)
	}
	d.mu.Lock()
	d.lease, d.ka = lease.ID, ka
	d.mu.Unlock()
	return nil
}

// putClient creates P/clients/<id> unless another client holds it.
func (d *Discovery) putClient(ctx context.Context, id uint16, name string, lease clientv3.LeaseID) (bool, error) {
	k := d.key("clients", strconv.Itoa(int(id)))
	txn, err := d.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, name, clientv3.WithLease(lease))).Commit()
	if err != nil {
		return false, d.unreachable("claiming a client id", err)
	}
	return txn.Succeeded, nil
}
