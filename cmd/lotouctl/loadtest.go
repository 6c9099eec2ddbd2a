package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lotou-io/lotou/runtime/codec/binary"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/gate"
	gateclient "github.com/lotou-io/lotou/runtime/gate/client"
)

// loadConfig is what lotouctl loadtest was asked to do.
type loadConfig struct {
	gate, metrics, mode string
	clients, roomSize   int
	pid                 int
	rate, rampRate      float64
	duration, warmup    time.Duration
	ws, unthrottled     bool
	secret              []byte
}

// loadStats is what the clients did; every field is updated atomically or
// under mu.
type loadStats struct {
	connected, maxConnected atomic.Int64
	replies, pushes         atomic.Uint64
	callErrs, dialErrs      atomic.Uint64
	dropped                 atomic.Uint64
	mu                      sync.Mutex
	rtts                    []time.Duration
	codes                   map[string]int // call errors by gate error code
	samples                 []string       // the first error of each code
}

func (st *loadStats) callFailed(err error) {
	st.callErrs.Add(1)
	code := "other"
	var ge *gateclient.Error
	if errors.As(err, &ge) {
		code = ge.Code
	} else if errors.Is(err, context.DeadlineExceeded) {
		code = "client timeout"
	}
	st.mu.Lock()
	if st.codes == nil {
		st.codes = map[string]int{}
	}
	if st.codes[code] == 0 {
		st.samples = append(st.samples, err.Error())
	}
	st.codes[code]++
	st.mu.Unlock()
}

func cmdLoadtest(ctx context.Context, g *globals, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var lc loadConfig
	// Its own flags: a load test joins no cluster, so --master is not needed.
	fs := flag.NewFlagSet("lotouctl loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&g.tokenFile, "token-file", g.tokenFile, "cluster token file: send gate tickets signed with it instead of names [$"+contract.EnvTokenFile+", or $"+contract.EnvClusterToken+"]")
	{
		fs.StringVar(&lc.gate, "gate", "", "gate host:port")
		fs.IntVar(&lc.clients, "clients", 100, "clients to connect")
		fs.Float64Var(&lc.rate, "rate", 1, "messages per second per client (0: connect only, idle)")
		fs.DurationVar(&lc.duration, "duration", 30*time.Second, "how long to send once every client is connected")
		fs.DurationVar(&lc.warmup, "warmup", 0, "leave the round trips of the first part of --duration out of the percentiles (each agent's first message)")
		fs.BoolVar(&lc.ws, "ws", false, "WebSocket instead of TCP")
		fs.BoolVar(&lc.unthrottled, "unthrottled", false, "each client calls again as soon as it has its answer (--rate is ignored): a closed loop that finds the capacity")
		fs.StringVar(&lc.mode, "mode", "chat", "chat (join a room, call say) or echo (the built-in echo game)")
		fs.IntVar(&lc.roomSize, "room-size", 10, "chat: clients per room")
		fs.Float64Var(&lc.rampRate, "ramp", 2000, "new connections per second while ramping up")
		fs.StringVar(&lc.metrics, "metrics", "", "the node's HTTP host:port: read its RSS per connection from /metrics")
		fs.IntVar(&lc.pid, "pid", 0, "read the RSS per connection of this local process (/proc/PID/status) instead of --metrics: a peer server without metrics")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if lc.gate == "" || fs.NArg() != 0 || lc.clients <= 0 || lc.rate < 0 || lc.duration <= 0 || lc.rampRate <= 0 || lc.warmup < 0 || lc.warmup >= lc.duration ||
		(lc.mode != "chat" && lc.mode != "echo") || lc.roomSize <= 0 {
		return usageError{errors.New("loadtest needs --gate host:port, positive --clients, --duration, --ramp, --room-size, --rate >= 0, --warmup below --duration and --mode chat|echo")}
	}
	if g.tokenFile != "" || getenv(contract.EnvClusterToken) != "" {
		var err error
		if lc.secret, err = readToken(g, getenv); err != nil {
			return err
		}
	}
	return runLoad(ctx, lc, stdout)
}

func runLoad(ctx context.Context, lc loadConfig, stdout io.Writer) error {
	var st loadStats
	rssBefore, _ := readRSS(ctx, lc)
	transport := "tcp"
	if lc.ws {
		transport = "ws"
	}
	_, _ = fmt.Fprintf(stdout, "loadtest: %d %s clients on %s, %g msg/s each, mode %s, %s\n", lc.clients, transport, lc.gate, lc.rate, lc.mode, lc.duration)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := make(chan struct{}) // closed once every client had its chance to connect
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / lc.rampRate))
	rampStart := time.Now()
	for i := range lc.clients {
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() { loadClient(runCtx, lc, i, start, &st) })
	}
	tick.Stop()
	eventuallyConnected(ctx, &st, int64(lc.clients), 10*time.Second)
	_, _ = fmt.Fprintf(stdout, "connected: %d of %d in %s\n", st.connected.Load(), lc.clients, time.Since(rampStart).Round(time.Millisecond))
	rssIdle, rssOK := readRSS(ctx, lc)

	close(start)
	t0 := time.Now()
	base := st.replies.Load()
	progress := time.NewTicker(time.Second)
	timer := time.NewTimer(lc.duration)
loop:
	for {
		select {
		case <-progress.C:
			_, _ = fmt.Fprintf(stdout, "  %5.0fs connected %d, replies %d, errors %d\n", time.Since(t0).Seconds(), st.connected.Load(), st.replies.Load()-base, st.callErrs.Load())
		case <-timer.C:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	progress.Stop()
	elapsed := time.Since(t0)
	rssBusy, _ := readRSS(ctx, lc)
	cancel()
	wg.Wait()
	printLoad(stdout, lc, &st, elapsed, base, rssBefore, rssIdle, rssBusy, rssOK)
	return nil
}

func eventuallyConnected(ctx context.Context, st *loadStats, want int64, grace time.Duration) {
	deadline := time.Now().Add(grace)
	for st.connected.Load()+int64(st.dialErrs.Load()) < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

func printLoad(w io.Writer, lc loadConfig, st *loadStats, elapsed time.Duration, base uint64, before, idle, busy float64, rssOK bool) {
	st.mu.Lock()
	rtts := st.rtts
	st.mu.Unlock()
	slices.Sort(rtts)
	q := func(p float64) time.Duration {
		if len(rtts) == 0 {
			return 0
		}
		return rtts[min(len(rtts)-1, int(p*float64(len(rtts))))]
	}
	replies := st.replies.Load() - base
	_, _ = fmt.Fprintf(w, "clients connected  %d (max %d)\n", st.connected.Load(), st.maxConnected.Load())
	_, _ = fmt.Fprintf(w, "messages/s         %.0f (%d replies in %s; %d pushes received)\n", float64(replies)/elapsed.Seconds(), replies, elapsed.Round(time.Millisecond), st.pushes.Load())
	warm := ""
	if lc.warmup > 0 {
		warm = fmt.Sprintf(" (%d round trips after the first %s)", len(rtts), lc.warmup)
	}
	_, _ = fmt.Fprintf(w, "round trip         p50 %s  p99 %s  p999 %s%s\n", q(0.50), q(0.99), q(0.999), warm)
	_, _ = fmt.Fprintf(w, "errors             %d calls, %d dials, %d dropped connections\n", st.callErrs.Load(), st.dialErrs.Load(), st.dropped.Load())
	st.mu.Lock()
	for code, n := range st.codes {
		_, _ = fmt.Fprintf(w, "  %-16s %d\n", code, n)
	}
	for _, s := range st.samples {
		_, _ = fmt.Fprintf(w, "  e.g. %s\n", s)
	}
	st.mu.Unlock()
	if rssOK && st.maxConnected.Load() > 0 {
		n := float64(st.maxConnected.Load())
		_, _ = fmt.Fprintf(w, "node RSS           %.1f MiB before, %.1f MiB idle, %.1f MiB busy\n", before/(1<<20), idle/(1<<20), busy/(1<<20))
		_, _ = fmt.Fprintf(w, "RSS per connection %.1f KiB idle, %.1f KiB busy\n", (idle-before)/n/1024, (busy-before)/n/1024)
	}
}

// loadClient connects, waits for start, then sends at the rate until ctx ends.
func loadClient(ctx context.Context, lc loadConfig, i int, start <-chan struct{}, st *loadStats) {
	name := fmt.Sprintf("load%d", i)
	cred := []byte(name)
	if lc.secret != nil {
		tk, err := gate.NewTicket(lc.secret, name, time.Now().Add(24*time.Hour))
		if err != nil {
			st.dialErrs.Add(1)
			return
		}
		cred = []byte(tk)
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	c, err := gateclient.Dial(dctx, lc.gate, gateclient.Options{WebSocket: lc.ws, Credentials: cred,
		OnPush: func(string, []byte) { st.pushes.Add(1) }})
	cancel()
	if err != nil {
		st.dialErrs.Add(1)
		return
	}
	defer func() { _ = c.Close() }()
	n := st.connected.Add(1)
	for m := st.maxConnected.Load(); n > m && !st.maxConnected.CompareAndSwap(m, n); m = st.maxConnected.Load() {
	}
	defer st.connected.Add(-1)
	cmd, payload := "echo", []byte("0123456789abcdef0123456789abcdef")
	if lc.mode == "chat" {
		room := "load-" + strconv.Itoa(i/lc.roomSize)
		rb, _ := binary.Marshal(room)
		jctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := c.Call(jctx, "join", rb)
		cancel()
		if err != nil {
			st.callFailed(err)
		}
		cmd = "say"
		payload, _ = binary.Marshal(&struct{ Room, Text string }{room, "load test message"})
	}
	select {
	case <-start:
	case <-ctx.Done():
		return
	case <-c.Done():
		st.dropped.Add(1)
		return
	}
	var local []time.Duration
	defer func() {
		st.mu.Lock()
		st.rtts = append(st.rtts, local...)
		st.mu.Unlock()
	}()
	if lc.rate == 0 && !lc.unthrottled {
		idle(ctx, c, st)
		return
	}
	warmEnd := time.Now().Add(lc.warmup)
	ready := make(chan time.Time) // unthrottled: always ready
	close(ready)
	var next <-chan time.Time = ready
	if !lc.unthrottled {
		period := time.Duration(float64(time.Second) / lc.rate)
		time.Sleep(time.Duration(rand.Int64N(int64(period)))) //nolint:gosec // spreading start times, not security
		t := time.NewTicker(period)
		defer t.Stop()
		next = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.Done():
			st.dropped.Add(1)
			return
		case <-next:
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		t0 := time.Now()
		_, err := c.Call(cctx, cmd, payload)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				st.callFailed(err)
			}
			continue
		}
		if t0.After(warmEnd) {
			local = append(local, time.Since(t0))
		}
		st.replies.Add(1)
	}
}

// idle keeps an idle client alive with a ping every 30s.
func idle(ctx context.Context, c *gateclient.Client, st *loadStats) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.Done():
			st.dropped.Add(1)
			return
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_ = c.Ping(pctx)
			cancel()
		}
	}
}

// readRSS reads the RSS of --pid from /proc, or else
// process_resident_memory_bytes from the node's /metrics.
func readRSS(ctx context.Context, lc loadConfig) (float64, bool) {
	if lc.pid > 0 {
		return procRSS(lc.pid)
	}
	addr := lc.metrics
	if addr == "" {
		return 0, false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+contract.PathMetrics, nil)
	if err != nil {
		return 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// procRSS reads VmRSS of a local process.
func procRSS(pid int) (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kib * 1024, err == nil
		}
	}
	return 0, false
}
