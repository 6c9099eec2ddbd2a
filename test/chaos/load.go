package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/node"
)

// CallRec is one Call the load generator made, with what it was told.
type CallRec struct {
	ID       string
	Target   string // node whose ledger executes
	Via      string // node that relays, "" for a direct call
	Start    time.Time
	End      time.Time
	Returned bool   // false: still waiting when the load stopped (a hang)
	Err      string // "" when answered OK
	Class    string // the error's kind (errorClass), "" when answered OK
	Attempts int    // sends of this request id (retries after "not delivered")
	Reply    string
}

// Failed reports whether the caller was told the Call failed.
func (r *CallRec) Failed() bool { return r.Returned && r.Err != "" }

// client is the load generator's node: a core attached as a cluster client.
// If the cluster driver ends (e.g. cluster.ErrIDChanged after a master
// restart) it joins again.
type client struct {
	master string
	token  []byte
	log    logr.Logger

	mu   sync.Mutex
	core *core.Core
}

func (c *client) current() *core.Core {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core
}

// run joins, serves and re-joins until ctx ends; it closes what it opened.
func (c *client) run(ctx context.Context, ready chan<- struct{}) {
	var once sync.Once
	for ctx.Err() == nil {
		err := c.session(ctx, func() { once.Do(func() { close(ready) }) })
		if ctx.Err() != nil {
			return
		}
		c.log.Info("Load client rejoins", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (c *client) session(ctx context.Context, joined func()) error {
	cl, err := cluster.New(cluster.Options{Role: cluster.RoleClient, Name: "chaos-load", Master: c.master,
		Token: c.token, Codec: node.NewCodec(), LookupTimeout: 300 * time.Millisecond, Log: c.log})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		_ = cl.Close(cctx)
	}()
	if _, err := cl.Start(); err != nil {
		return fmt.Errorf("load client start: %w", err)
	}
	jctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	id, err := cl.Join(jctx)
	cancel()
	if err != nil {
		return fmt.Errorf("load client join: %w", err)
	}
	k, err := core.New(core.Options{Node: id, CallTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	if err := cl.Attach(k); err != nil {
		return err
	}
	c.mu.Lock()
	c.core = k
	c.mu.Unlock()
	joined()
	err = cl.Run(ctx)
	c.mu.Lock()
	c.core = nil
	c.mu.Unlock()
	sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer scancel()
	return errors.Join(err, k.Stop(sctx))
}

// load makes Calls from workers until stopped and keeps every record.
type load struct {
	cl       *client
	targets  []string // every node name (ledgers)
	relays   []string // slave names (relays)
	deadline time.Duration
	seed     uint64

	mu   sync.Mutex
	recs []*CallRec
}

// run starts workers and returns when ctx ends and every worker returned,
// or after grace if some Call hangs (then that worker is abandoned; its record
// stays unreturned and the hang is reported).
func (l *load) run(ctx context.Context, workers int, grace time.Duration) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { l.worker(ctx, w) })
	}
	<-ctx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }() // ends when the workers do
	select {
	case <-done:
	case <-time.After(grace):
	}
}

func (l *load) worker(ctx context.Context, w int) {
	rng := rand.New(rand.NewPCG(l.seed, uint64(w))) //nolint:gosec // G404: load mix, not security
	for seq := 0; ctx.Err() == nil; seq++ {
		k := l.cl.current()
		if k == nil {
			sleepCtx(ctx, 20*time.Millisecond)
			continue
		}
		r := &CallRec{ID: fmt.Sprintf("w%d-%d", w, seq), Target: l.targets[rng.IntN(len(l.targets))]}
		if rng.IntN(2) == 0 {
			via := l.relays[rng.IntN(len(l.relays))]
			if via != r.Target {
				r.Via = via
			}
		}
		work := int64(rng.IntN(6))
		l.mu.Lock()
		l.recs = append(l.recs, r)
		l.mu.Unlock()
		l.call(k, r, work)
		sleepCtx(ctx, time.Duration(10+rng.IntN(20))*time.Millisecond)
	}
}

// call makes one Call; it is not cancelled by the load's ctx, only by its own
// deadline, so that no Call is cut short by the end of the run.
func (l *load) call(k *core.Core, r *CallRec, work int64) {
	ctx, cancel := context.WithTimeout(context.Background(), l.deadline)
	defer cancel()
	start := time.Now()
	l.mu.Lock()
	r.Start = start
	l.mu.Unlock()
	var ret []any
	var err error
	attempts := 0
	for {
		attempts++
		ret, err = l.attempt(ctx, k, r, work)
		if !retrySafe(err) || attempts == maxAttempts {
			break
		}
		if d, ok := ctx.Deadline(); !ok || time.Until(d) < 400*time.Millisecond {
			break
		}
		time.Sleep(retryPause)
	}
	end := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	r.Start, r.End, r.Returned, r.Attempts = start, end, true, attempts
	if err != nil {
		r.Err, r.Class = err.Error(), errorClass(err)
		return
	}
	if len(ret) == 1 {
		r.Reply, _ = ret[0].(string)
	} else {
		r.Reply = fmt.Sprint(ret)
	}
}

// A client that is told a Call was not delivered retries it with the same
// request id, as a game client would: the runtime promises that lookups that
// fail, ErrNodeDraining and ErrStaleID mean "not delivered", so a retry must
// not make it run twice (the at-most-once invariant checks that promise).
const (
	maxAttempts = 3
	retryPause  = 50 * time.Millisecond
)

// errNeverSent marks a Call whose target name could not be looked up.
var errNeverSent = errors.New("lookup failed, never sent")

func retrySafe(err error) bool {
	return errors.Is(err, errNeverSent) || errors.Is(err, core.ErrNodeDraining) || errors.Is(err, core.ErrStaleID)
}

// attempt sends the Call once, within ctx.
func (l *load) attempt(ctx context.Context, k *core.Core, r *CallRec, work int64) ([]any, error) {
	first, cmd, args := ledgerName(r.Target), "exec", []any{r.ID, work}
	if r.Via != "" {
		budget := int64(1)
		if d, ok := ctx.Deadline(); ok {
			budget = max(1, (time.Until(d) - 300*time.Millisecond).Milliseconds())
		}
		first, cmd, args = ledgerName(r.Via), "relay", []any{r.ID, ledgerName(r.Target), work, budget}
	}
	id, err := k.Lookup(ctx, first)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNeverSent, err)
	}
	return k.Call(ctx, id, cmd, args...)
}

// errorClass names the kind of a failure for the table, by the core's
// sentinels (carried on the wire as codes).
func errorClass(err error) string {
	for _, c := range []struct {
		err  error
		name string
	}{
		{errNeverSent, "never-sent"}, {core.ErrNodeDraining, "draining"}, {core.ErrStaleID, "stale-id"},
		{core.ErrNodeDown, "node-down"}, {core.ErrCallTimeout, "call-timeout"}, {core.ErrServiceNotFound, "service-not-found"},
		{core.ErrStopped, "stopped"}, {core.ErrMailboxFull, "mailbox-full"}, {core.ErrUndeliverable, "undeliverable"},
		{core.ErrDeadlineExceeded, "deadline-exceeded"},
	} {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "call-timeout"
	}
	return "other"
}

// records returns a copy of every record.
func (l *load) records() []CallRec {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]CallRec, len(l.recs))
	for i, r := range l.recs {
		out[i] = *r
	}
	return out
}

func ledgerName(node string) string { return "ledger:" + node }

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
