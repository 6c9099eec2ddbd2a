package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/test/chaos/proxy"
)

// Harness owns the processes, proxies and load of one chaos run.
type Harness struct {
	cfg        Config
	work       string // binary, token, records, logs
	bin        string
	tokenFile  string
	recordDir  string
	scriptPath string
	logf       func(format string, args ...any)

	master *Node
	slaves []*Node
	spare  *Node // the spare namespace, for the duplicate-name fault

	wg sync.WaitGroup // node process waiters and proxies
}

// Result is everything the invariants are computed from.
type Result struct {
	Calls      []CallRec
	Executed   map[string]int       // request id → times recorded
	ExecAt     map[string]time.Time // request id → first execution
	Events     []Event
	AgreeAfter time.Duration // from heal to agreement; < 0 if never
	AgreeErr   string
	Baseline   map[string]Resources
	Final      map[string]Resources
	Restarts   map[string]int
}

// NewHarness prepares a run in work (which must exist): it builds chaosnode.
func NewHarness(ctx context.Context, cfg Config, work, scriptPath string, logf func(string, ...any)) (*Harness, error) {
	h := &Harness{cfg: cfg, work: work, scriptPath: scriptPath, logf: logf,
		bin: filepath.Join(work, "chaosnode"), tokenFile: filepath.Join(work, "token"), recordDir: filepath.Join(work, "records")}
	for _, d := range []string{h.recordDir, filepath.Join(work, "logs")} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(h.tokenFile, []byte("chaos-token-"+strconv.FormatUint(cfg.Seed, 10)+"\n"), 0o600); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, "go", "build", "-o", h.bin, "github.com/lotou-io/lotou/test/chaos/chaosnode").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("building chaosnode: %w: %s", err, out)
	}
	return h, nil
}

func (h *Harness) slot(name, role string, index int) (*Node, error) {
	listen := fmt.Sprintf("%s.1:%d", h.cfg.Net, proxyBase+index)
	ip := fmt.Sprintf("%s.%d", h.cfg.Net, 10+index)
	p, err := proxy.New(listen, fmt.Sprintf("%s:%d", ip, clusterPort), h.cfg.Seed+uint64(index))
	if err != nil {
		return nil, err
	}
	return &Node{Name: name, Role: role, Index: index, IP: ip, Proxy: p, h: h}, nil
}

// Run does the whole run: start, warm up, faults for cfg.Duration, heal,
// check agreement and resources, stop everything. It returns what it saw;
// the caller computes the invariants.
func (h *Harness) Run(ctx context.Context) (res *Result, err error) {
	res = &Result{Baseline: map[string]Resources{}, Final: map[string]Resources{}, Restarts: map[string]int{}, AgreeAfter: -1}
	pctx, stopProxies := context.WithCancel(context.WithoutCancel(ctx))
	defer func() {
		h.stopNodes()
		stopProxies()
		h.wg.Wait()
	}()
	if h.master, err = h.slot("m", contract.RoleMaster, 1); err != nil {
		return res, err
	}
	all := []*Node{h.master}
	for i := range h.cfg.Slaves {
		s, err := h.slot("s"+strconv.Itoa(i+1), contract.RoleSlave, i+2)
		if err != nil {
			return res, err
		}
		h.slaves = append(h.slaves, s)
		all = append(all, s)
	}
	if h.spare, err = h.slot("dup", contract.RoleSlave, h.cfg.Slaves+2); err != nil {
		return res, err
	}
	for _, n := range append(slices.Clone(all), h.spare) {
		p := n.Proxy
		h.wg.Go(func() {
			if err := p.Run(pctx); err != nil {
				h.logf("proxy %s: %v", p.Addr(), err)
			}
		})
	}
	for _, n := range all {
		if msg := h.restart(n); msg != "" {
			return res, errors.New(msg)
		}
	}

	// Load.
	tok, _ := os.ReadFile(h.tokenFile)
	cl := &client{master: h.master.Proxy.Addr(), token: []byte(strings.TrimSpace(string(tok))), log: logr.Discard()}
	ld := &load{cl: cl, deadline: h.cfg.Deadline, seed: h.cfg.Seed}
	for _, n := range all {
		ld.targets = append(ld.targets, n.Name)
	}
	for _, n := range h.slaves {
		ld.relays = append(ld.relays, n.Name)
	}
	cctx, stopClient := context.WithCancel(context.WithoutCancel(ctx))
	lctx, stopLoad := context.WithCancel(context.WithoutCancel(ctx))
	var lwg, cwg sync.WaitGroup
	defer func() { stopLoad(); lwg.Wait(); stopClient(); cwg.Wait() }()
	ready := make(chan struct{})
	cwg.Go(func() { cl.run(cctx, ready) })
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		return res, errors.New("the load client did not join in 15s")
	}
	lwg.Go(func() { ld.run(lctx, h.cfg.Workers, h.cfg.Deadline+5*time.Second) })

	// Warm up, then baseline.
	sleepCtx(ctx, 3*time.Second)
	d, err := h.agree(ctx, all, 10*time.Second)
	if err != nil {
		return res, fmt.Errorf("before any fault: %w", err)
	}
	h.logf("warm: name tables agree (%v)", d)
	for _, n := range all {
		if res.Baseline[n.Name], err = n.Resources(ctx); err != nil {
			return res, fmt.Errorf("baseline: %w", err)
		}
	}

	// Faults.
	fctx, cancel := context.WithTimeout(ctx, h.cfg.Duration)
	f := &faulter{h: h, rng: rand.New(rand.NewPCG(h.cfg.Seed, 7))} //nolint:gosec // G404: fault schedule
	res.Events = f.schedule(fctx)
	cancel()

	// Heal everything, then measure agreement from that moment.
	h.healAll()
	healed := time.Now()
	if _, err := h.agree(ctx, all, time.Duration(h.cfg.AgreeBeats)*h.cfg.Heartbeat); err != nil {
		res.AgreeErr = err.Error()
	} else {
		res.AgreeAfter = time.Since(healed)
	}
	stopLoad()
	lwg.Wait() // the client stays until the load is done
	stopClient()
	cwg.Wait()
	res.Calls = ld.records()

	// Resources back to baseline: poll, the Go runtime returns memory lazily.
	h.settle(ctx, all, res)
	for _, n := range all {
		res.Restarts[n.Name] = n.starts - 1
	}
	h.stopNodes()
	res.Executed, res.ExecAt, err = readRecords(h.recordDir)
	return res, err
}

// nodes returns the master and the slaves.
func (h *Harness) nodes() []*Node { return append([]*Node{h.master}, h.slaves...) }

// healAll removes every fault still on and restarts what is not running.
func (h *Harness) healAll() {
	all := append([]*Node{h.master}, h.slaves...)
	for _, n := range append(all, h.spare) {
		n.Proxy.Clear()
		_ = h.script(context.Background(), "heal", strconv.Itoa(n.Index))
		n.Signal(syscall.SIGCONT)
	}
	h.spare.Stop(5 * time.Second)
	for _, n := range all {
		if !n.Running() {
			if msg := h.restart(n); msg != "" {
				h.logf("heal: %s", msg)
			}
		}
	}
}

// agree polls every node's /cluster once a heartbeat until all agree on the
// up nodes and the name table, and every node's ledger is listed.
func (h *Harness) agree(ctx context.Context, all []*Node, within time.Duration) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(within)
	var last string
	for {
		last = h.disagreement(ctx, all)
		if last == "" {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("name tables disagree after %v: %s", within, last)
		}
		sleepCtx(ctx, h.cfg.Heartbeat)
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
	}
}

// disagreement returns "" when all nodes agree, else why not.
func (h *Harness) disagreement(ctx context.Context, all []*Node) string {
	var ref string
	for _, n := range all {
		v, err := n.View(ctx)
		if err != nil {
			return err.Error()
		}
		s := viewKey(v)
		for _, m := range all {
			if !slices.ContainsFunc(v.Globals, func(g contract.GlobalName) bool { return g.Name == ledgerName(m.Name) }) {
				return fmt.Sprintf("%s does not list %s", n.Name, ledgerName(m.Name))
			}
		}
		if ref == "" {
			ref = s
		} else if s != ref {
			return fmt.Sprintf("%s sees %s, %s sees %s", all[0].Name, ref, n.Name, s)
		}
	}
	return ""
}

// viewKey is a canonical text of the up nodes and the names of a view.
func viewKey(v contract.ClusterView) string {
	var up []string
	for _, n := range v.Nodes {
		if n.Up && n.Role != "client" {
			up = append(up, fmt.Sprintf("%d=%s", n.ID, n.Name))
		}
	}
	var names []string
	for _, g := range v.Globals {
		names = append(names, fmt.Sprintf("%s=%x", g.Name, g.ID))
	}
	slices.Sort(up)
	slices.Sort(names)
	return fmt.Sprintf("nodes%v names%v", up, names)
}

// settle reads every node's resources until all are within bounds or 10s
// pass, and keeps the last reading.
func (h *Harness) settle(ctx context.Context, all []*Node, res *Result) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		for _, n := range all {
			r, err := n.Resources(ctx)
			if err != nil {
				ok = false
				continue
			}
			res.Final[n.Name] = r
			if !withinBaseline(res.Baseline[n.Name], r) {
				ok = false
			}
		}
		if ok || time.Now().After(deadline) {
			return
		}
		sleepCtx(ctx, 500*time.Millisecond)
	}
}

// stopNodes ends every process the harness started.
func (h *Harness) stopNodes() {
	var wg sync.WaitGroup
	for _, n := range append(append([]*Node{h.spare}, h.slaves...), h.master) {
		if n != nil {
			wg.Go(func() { n.Stop(15 * time.Second) })
		}
	}
	wg.Wait()
}
