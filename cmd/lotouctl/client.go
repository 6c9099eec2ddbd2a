package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/node"
	"github.com/lotou-io/lotou/runtime/transport"
)

// client is lotouctl's light node: a core attached to the cluster as a
// client (an id, no names, not listed).
type client struct {
	cl     *cluster.Cluster
	core   *core.Core
	cancel context.CancelFunc
	done   chan error
}

func join(ctx context.Context, g *globals, getenv func(string) string, stderr io.Writer) (*client, error) {
	tok, err := readToken(g, getenv)
	if err != nil {
		return nil, err
	}
	log, err := node.NewLogger(stderr, g.logLevel)
	if err != nil {
		return nil, usageError{err}
	}
	var tlsCfg *tls.Config
	if g.tlsCert != "" || g.tlsKey != "" || g.tlsCA != "" {
		if tlsCfg, err = transport.LoadTLS(g.tlsCert, g.tlsKey, g.tlsCA); err != nil {
			return nil, usageError{err}
		}
	}
	o := cluster.Options{
		Role: cluster.RoleClient, Name: g.name, Master: g.master, Token: tok, Codec: node.NewCodec(), TLS: tlsCfg,
		LookupTimeout: 300 * time.Millisecond, Log: log,
	}
	where := g.master
	if g.discovery == contract.DiscoveryEtcd {
		if o.Discovery, err = etcdDiscovery(g, tok, getenv, log); err != nil {
			return nil, usageError{err}
		}
		where = "etcd " + g.etcdEndpoints
	}
	cl, err := cluster.New(o)
	if err != nil {
		if o.Discovery != nil {
			_ = o.Discovery.Close()
		}
		return nil, usageError{err}
	}
	if _, err := cl.Start(); err != nil {
		return nil, err
	}
	jctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	id, err := cl.Join(jctx)
	if err != nil {
		_ = cl.Close(context.Background())
		return nil, fmt.Errorf("joining the cluster at %s (is the token right? see the master's log): %w", where, err)
	}
	k, err := core.New(core.Options{Node: id, CallTimeout: g.timeout})
	if err != nil {
		return nil, err
	}
	if err := cl.Attach(k); err != nil {
		return nil, err
	}
	rctx, rcancel := context.WithCancel(context.Background())
	c := &client{cl: cl, core: k, cancel: rcancel, done: make(chan error, 1)}
	go func() { c.done <- cl.Run(rctx) }() // joined in close
	return c, nil
}

// etcdDiscovery finds the cluster through etcd, with the settings lotou-node
// reads (endpoints, credentials, TLS, prefix; the prefix derived from the
// token by default). The client borrows an id, is not listed as a node and
// reaches the nodes over direct TCP, whatever their transport: they answer
// on the connection it opened.
func etcdDiscovery(g *globals, tok []byte, getenv func(string) string, log logr.Logger) (cluster.Discovery, error) {
	b := node.Backends{Discovery: contract.DiscoveryEtcd, EtcdUsername: getenv(contract.EnvEtcdUsername),
		EtcdPassword: getenv(contract.EnvEtcdPassword), EtcdTLSDir: getenv(contract.EnvEtcdTLSDir),
		EtcdPrefix: getenv(contract.EnvEtcdPrefix)}
	for _, e := range strings.Split(g.etcdEndpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			b.EtcdEndpoints = append(b.EtcdEndpoints, e)
		}
	}
	return node.NewEtcdDiscovery(b, tok, contract.DefaultHeartbeatInterval, log.WithName("etcd"))
}

func (c *client) close() {
	c.cl.Leave()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.core.Stop(ctx)
	c.cancel()
	if err := <-c.done; err != nil {
		_, _ = fmt.Fprintf(os.Stderr, "lotouctl: %v\n", err)
	}
	_ = c.cl.Close(ctx)
}
