package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

type benchResult struct {
	calls, errors uint64
	elapsed       time.Duration
	p50, p99      time.Duration
}

func cmdBench(ctx context.Context, g *globals, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var target string
	var duration time.Duration
	var concurrency int
	fs, err := subFlags("bench", g, args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&target, "target", "", "global name of a service answering \"echo\"")
		fs.DurationVar(&duration, "duration", 10*time.Second, "how long to run")
		fs.IntVar(&concurrency, "concurrency", 8, "concurrent callers")
	})
	if err != nil {
		return err
	}
	if target == "" || fs.NArg() != 0 || duration <= 0 || concurrency <= 0 {
		return usageError{errors.New("bench needs --target <global name>, a positive --duration and --concurrency")}
	}
	c, err := join(ctx, g, getenv, stderr)
	if err != nil {
		return err
	}
	defer c.close()
	lctx, cancel := context.WithTimeout(ctx, g.timeout)
	id, err := c.core.Lookup(lctx, target)
	cancel()
	if err != nil {
		return fmt.Errorf("bench %s: %w", target, err)
	}
	res := runBench(ctx, c.core, id, duration, concurrency, g.timeout, stderr)
	_, err = fmt.Fprintf(stdout, "target %s  concurrency %d  duration %v\ncalls %d  errors %d  rate %.0f msgs/s  p50 %v  p99 %v\n",
		target, concurrency, res.elapsed.Round(time.Millisecond), res.calls, res.errors,
		float64(res.calls)/res.elapsed.Seconds(), res.p50, res.p99)
	if err == nil && res.calls == 0 {
		err = errors.New("no call succeeded")
	}
	return err
}

func runBench(ctx context.Context, k *core.Core, id core.ServiceID, d time.Duration, n int, timeout time.Duration, progress io.Writer) benchResult {
	bctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var calls, fails atomic.Uint64
	lat := make([][]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range n {
		wg.Go(func() {
			for i := 0; bctx.Err() == nil; i++ {
				cctx, ccancel := context.WithTimeout(context.Background(), timeout)
				t0 := time.Now()
				_, err := k.Call(cctx, id, "echo", i)
				ccancel()
				if err != nil {
					fails.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
				calls.Add(1)
			}
		})
	}
	tick := time.NewTicker(time.Second)
	var last uint64
	for done := false; !done; {
		select {
		case <-bctx.Done():
			done = true
		case <-tick.C:
			cur := calls.Load()
			_, _ = fmt.Fprintf(progress, "\r%6.1fs  calls %d  errors %d  %d msgs/s   ",
				time.Since(start).Seconds(), cur, fails.Load(), cur-last)
			last = cur
		}
	}
	tick.Stop()
	wg.Wait()
	_, _ = fmt.Fprintln(progress)
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := benchResult{calls: calls.Load(), errors: fails.Load(), elapsed: time.Since(start)}
	if len(all) > 0 {
		r.p50 = all[len(all)/2]
		r.p99 = all[len(all)*99/100]
	}
	return r
}
