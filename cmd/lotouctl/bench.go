package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lotou-io/lotou/runtime/core"
)

// benchWindowBudget bounds the one-way messages all callers keep in flight
// in send mode, below the target's default mailbox (core.DefaultMailboxSize),
// so that the benchmark measures throughput, not drops.
const benchWindowBudget = 1000

type benchResult struct {
	calls, errors uint64
	elapsed       time.Duration
	p50, p99      time.Duration
}

// benchSpec is what one bench run does.
type benchSpec struct {
	d       time.Duration
	n       int           // concurrent callers
	window  int           // send mode: messages per barrier (the last is a Call); 1 in call mode
	timeout time.Duration // per call
}

func cmdBench(ctx context.Context, g *globals, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var target, mode, cpuProfile string
	var duration time.Duration
	var concurrency, window int
	fs, err := subFlags("bench", g, args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&target, "target", "", "global name of a service answering \"echo\"")
		fs.DurationVar(&duration, "duration", 10*time.Second, "how long to run")
		fs.IntVar(&concurrency, "concurrency", 8, "concurrent callers")
		fs.StringVar(&mode, "mode", "call", "call (each caller waits for every reply) or send (one-way messages, a call every --window)")
		fs.IntVar(&window, "window", 0, "send mode: messages per barrier call (default: "+fmt.Sprint(benchWindowBudget)+"/concurrency, at least 2)")
		fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	})
	if err != nil {
		return err
	}
	if target == "" || fs.NArg() != 0 || duration <= 0 || concurrency <= 0 || window < 0 || (mode != "call" && mode != "send") {
		return usageError{errors.New("bench needs --target <global name>, a positive --duration and --concurrency, --mode call or send")}
	}
	spec := benchSpec{d: duration, n: concurrency, window: 1, timeout: g.timeout}
	if mode == "send" {
		spec.window = window
		if spec.window == 0 {
			spec.window = max(2, benchWindowBudget/concurrency)
		}
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
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return err
	}
	res := runBench(ctx, c.core, id, spec, stderr)
	if err := stopProfile(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "target %s  mode %s  concurrency %d  duration %v\ncalls %d  errors %d  rate %.0f msgs/s  p50 %v  p99 %v\n",
		target, mode, concurrency, res.elapsed.Round(time.Millisecond), res.calls, res.errors,
		float64(res.calls)/res.elapsed.Seconds(), res.p50, res.p99)
	if err == nil && res.calls == 0 {
		err = errors.New("no call succeeded")
	}
	return err
}

// startCPUProfile starts a CPU profile into path (nothing if path is
// empty) and returns what stops it.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path) //nolint:gosec // G304: the path the user gave with --cpuprofile
	if err != nil {
		return nil, fmt.Errorf("creating CPU profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("starting CPU profile: %w", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing CPU profile: %w", err)
		}
		return nil
	}, nil
}

// runBench runs spec's callers against id. In call mode a caller calls
// "echo" and waits for each reply; in send mode it sends window-1 one-way
// "echo" messages and then one Call, which returns after the target has
// handled them all (one link keeps order). calls counts messages; p50 and
// p99 are of one call, or of one window.
func runBench(ctx context.Context, k *core.Core, id core.ServiceID, spec benchSpec, progress io.Writer) benchResult {
	bctx, cancel := context.WithTimeout(ctx, spec.d)
	defer cancel()
	// One deadline bounds every call: the end of the run plus the call
	// timeout. A context per call would arm a runtime timer per call, and
	// arming one wakes the thread waiting in the network poller: a
	// system call and a wake-up per round trip that the raw TCP peer does
	// not pay (see docs/benchmarks.md).
	start := time.Now()
	callCtx, cancelCalls := context.WithDeadline(ctx, start.Add(spec.d+spec.timeout))
	defer cancelCalls()
	var calls, fails atomic.Uint64
	lat := make([][]time.Duration, spec.n)
	var wg sync.WaitGroup
	for w := range spec.n {
		wg.Go(func() {
			for i := 0; bctx.Err() == nil; i++ {
				t0 := time.Now()
				sent, err := benchWindow(callCtx, k, id, spec, i)
				if err != nil {
					fails.Add(1)
					continue
				}
				lat[w] = append(lat[w], time.Since(t0))
				calls.Add(sent)
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

// benchWindow sends spec.window-1 one-way messages and one call, bounded
// by ctx, and returns how many messages were handled.
func benchWindow(ctx context.Context, k *core.Core, id core.ServiceID, spec benchSpec, i int) (uint64, error) {
	for j := range spec.window - 1 {
		if err := k.Send(id, "echo", j); err != nil {
			return 0, fmt.Errorf("sending %d: %w", j, err)
		}
	}
	if _, err := k.Call(ctx, id, "echo", i); err != nil {
		return 0, err
	}
	return uint64(spec.window), nil
}
