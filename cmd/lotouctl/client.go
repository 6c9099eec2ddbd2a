package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lotou-io/lotou/runtime/cluster"
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
	cl, err := cluster.New(cluster.Options{
		Role: cluster.RoleClient, Name: g.name, Master: g.master, Token: tok, Codec: node.NewCodec(), TLS: tlsCfg,
		LookupTimeout: 300 * time.Millisecond, Log: log,
	})
	if err != nil {
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
		return nil, fmt.Errorf("joining the cluster at %s (is the token right? see the master's log): %w", g.master, err)
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
