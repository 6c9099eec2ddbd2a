package etcd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/lotou-io/lotou/runtime/cluster"
)

// Run implements cluster.Discovery: it watches the tables and keeps the
// lease alive until ctx ends, renewing the membership after an outage.
func (d *Discovery) Run(ctx context.Context) error {
	var stopWatch context.CancelFunc
	startWatch := func() clientv3.WatchChan {
		wctx, cancel := context.WithCancel(ctx) //nolint:gosec // G118: cancelled through stopWatch
		stopWatch = cancel
		return d.watch(wctx)
	}
	wch := startWatch()
	defer func() { stopWatch() }()
	for {
		d.mu.Lock()
		ka, left := d.ka, d.left
		d.mu.Unlock()
		if left {
			ka = nil // nothing to renew after Leave
		}
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-ka:
			if ok {
				continue
			}
			if err := d.renew(ctx); err != nil {
				return err
			}
		case resp, ok := <-wch:
			if ok && resp.Err() == nil && !resp.Canceled {
				d.apply(resp.Events, resp.Header.Revision)
				continue
			}
			if ok && resp.Err() != nil {
				d.log.Info("etcd watch ended; reading the tables again", "err", resp.Err().Error())
			}
			stopWatch()
			if err := d.resync(ctx); err != nil {
				return nil //nolint:nilerr // only ctx ends resync
			}
			wch = startWatch()
		}
	}
}

func (d *Discovery) watch(ctx context.Context) clientv3.WatchChan {
	d.mu.Lock()
	rev := d.rev
	d.mu.Unlock()
	return d.cli.Watch(clientv3.WithRequireLeader(ctx), d.opts.Prefix, clientv3.WithPrefix(),
		clientv3.WithRev(rev+1), clientv3.WithPrevKV())
}

// resync reads the tables again, retrying until etcd answers or ctx ends.
func (d *Discovery) resync(ctx context.Context) error {
	for {
		octx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
		err := d.reload(octx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d.opts.Retry):
		}
	}
}

// apply turns watch events into the control messages the master would push.
// Consecutive new names go as one batch (a CtlNameAdd with Names, as the
// master pushes one registration's names): the View publishes its name
// table once per message, so a burst of registrations costs one snapshot.
func (d *Discovery) apply(evs []*clientv3.Event, rev int64) {
	d.mu.Lock()
	d.rev = rev
	feed := d.feed
	d.mu.Unlock()
	var added []cluster.NameEntry
	flush := func() {
		switch len(added) {
		case 0:
		case 1:
			feed.Apply(&cluster.Control{Type: cluster.CtlNameAdd, Name: added[0].Name, Service: added[0].ID})
		default:
			feed.Apply(&cluster.Control{Type: cluster.CtlNameAdd, Names: added})
		}
		added = nil
	}
	defer flush()
	for _, ev := range evs {
		kind, rest := d.split(string(ev.Kv.Key))
		if kind == "names" && ev.Type == mvccpb.PUT {
			if svc, err := strconv.ParseUint(string(ev.Kv.Value), 10, 64); err == nil {
				added = append(added, cluster.NameEntry{Name: rest, ID: svc})
			}
			continue
		}
		flush()
		var m *cluster.Control
		switch {
		case kind == "nodes" && ev.Type == mvccpb.PUT:
			if n, ok := d.node(rest, ev.Kv.Value); ok {
				m = &cluster.Control{Type: cluster.CtlNodeUp, Nodes: []cluster.NodeEntry{n}}
			}
		case kind == "nodes" && ev.Type == mvccpb.DELETE:
			if id, err := strconv.ParseUint(rest, 10, 16); err == nil {
				m = &cluster.Control{Type: cluster.CtlNodeDown, ID: uint16(id), Err: cluster.NodeGone}
			}
		case kind == "names" && ev.Type == mvccpb.DELETE && ev.PrevKv != nil:
			if svc, err := strconv.ParseUint(string(ev.PrevKv.Value), 10, 64); err == nil {
				m = &cluster.Control{Type: cluster.CtlNameDel, Name: rest, Service: svc}
			}
		}
		if m != nil {
			feed.Apply(m)
		}
	}
}

// renew is called when the lease keep-alive stopped (the lease expired or
// etcd was unreachable for a whole TTL): it grants a new lease and puts the
// node and its names back under the same id, retrying until it can.
func (d *Discovery) renew(ctx context.Context) error {
	d.mu.Lock()
	feed, self := d.feed, d.self
	d.mu.Unlock()
	feed.Serving(false, fmt.Errorf("etcd lease of node %d lost: %w", self.ID, cluster.ErrBackendDown))
	for {
		err := d.relist(ctx, self)
		if err == nil {
			feed.Serving(true, nil)
			return nil
		}
		if errors.Is(err, cluster.ErrIDChanged) {
			return err
		}
		d.log.Info("Renewing membership in etcd", "id", self.ID, "err", err.Error())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(d.opts.Retry):
		}
	}
}

func (d *Discovery) relist(ctx context.Context, self cluster.NodeEntry) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.OpTimeout)
	defer cancel()
	if self.Role == cluster.RoleClient {
		return d.reclaimClientID(ctx, self)
	}
	d.mu.Lock()
	self.Up, self.Draining = d.self.Up, d.self.Draining // announced or draining since renew began
	d.mu.Unlock()
	sid := strconv.Itoa(int(self.ID))
	resp, err := d.cli.Get(ctx, d.key("byname", self.Name))
	if err != nil {
		return d.unreachable("reading node names", err)
	}
	if len(resp.Kvs) > 0 && string(resp.Kvs[0].Value) != sid {
		return fmt.Errorf("node name %q now belongs to node %s (a later incarnation): %w",
			self.Name, resp.Kvs[0].Value, cluster.ErrIDChanged)
	}
	lease, err := d.cli.Grant(ctx, d.ttl)
	if err != nil {
		return d.unreachable("granting a lease", err)
	}
	val, err := jsonNode(self)
	if err != nil {
		return err
	}
	_, err = d.cli.Txn(ctx).Then(
		clientv3.OpPut(d.key("nodes", sid), val, clientv3.WithLease(lease.ID)),
		clientv3.OpPut(d.key("byname", self.Name), sid, clientv3.WithLease(lease.ID)),
	).Commit()
	if err != nil {
		return d.unreachable("listing the node again", err)
	}
	d.mu.Lock()
	names := make(map[string]uint64, len(d.owned))
	for k, v := range d.owned {
		names[k] = v
	}
	d.mu.Unlock()
	for name, svc := range names {
		if err := d.putName(ctx, lease.ID, name, svc); err != nil {
			d.log.Info("Name lost during the etcd outage", "name", name, "err", err.Error())
			d.mu.Lock()
			delete(d.owned, name)
			d.mu.Unlock()
		}
	}
	ka, err := d.cli.KeepAlive(d.ctx, lease.ID)
	if err != nil {
		return d.unreachable("keeping the lease alive", err)
	}
	d.mu.Lock()
	d.lease, d.ka = lease.ID, ka
	d.mu.Unlock()
	d.log.Info("Membership renewed in etcd", "id", self.ID, "names", len(names))
	return nil
}
