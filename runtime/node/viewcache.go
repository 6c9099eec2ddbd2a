package node

import (
	"context"
	"sync/atomic"
	"time"
)

// The /cluster document is served without a credential (the operator and
// probes read it) and costs in proportion to the cluster: every node and
// global name (up to a million) rendered as JSON, plus a Call to every
// node's gate for its sessions. So it is rendered by one request at a time
// and the result serves every request for a while after: at least
// viewMinAge, and viewCostFactor times as long as it took to render, which
// bounds the share of a core a flood of requests can take to about
// 1/(1+viewCostFactor) whatever the request rate, while a small cluster's
// view is never more than viewMinAge old.
const (
	viewMinAge     = 250 * time.Millisecond
	viewCostFactor = 4
)

// viewCache holds the last rendered /cluster document. The zero value is
// not usable: see newViewCache.
type viewCache struct {
	turn    chan struct{} // a token: who holds it may read or render
	body    []byte        // guarded by turn
	expires time.Time     // guarded by turn
	renders atomic.Int64  // how many times the document was rendered
	now     func() time.Time
}

func newViewCache() *viewCache {
	return &viewCache{turn: make(chan struct{}, 1), now: time.Now}
}

// get returns a rendered document no older than the rules above allow,
// rendering it with render when the last one has expired. It waits for a
// rendering in progress (or returns ctx's error when ctx ends first). A
// failed rendering is returned to its request and not kept.
func (c *viewCache) get(ctx context.Context, render func(context.Context) ([]byte, error)) ([]byte, error) {
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.turn }()
	if start := c.now(); c.body == nil || !start.Before(c.expires) {
		// The request that renders may go away: the others share the result.
		body, err := render(context.WithoutCancel(ctx))
		c.renders.Add(1)
		if err != nil {
			return nil, err
		}
		end := c.now()
		c.body = body
		c.expires = end.Add(max(viewMinAge, viewCostFactor*end.Sub(start)))
	}
	return c.body, nil
}
