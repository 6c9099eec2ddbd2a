package chaos

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"syscall"
	"time"

	"github.com/lotou-io/lotou/test/chaos/proxy"
)

// Fault kinds injected at random.
const (
	FaultKill            = "sigkill"          // SIGKILL a slave, restart it
	FaultTerm            = "sigterm"          // SIGTERM a slave (graceful leave), restart it
	FaultStop            = "sigstop"          // SIGSTOP a slave, SIGCONT later
	FaultMasterRestart   = "master-restart"   // SIGKILL the master, restart it
	FaultPartitionSlave  = "partition-slave"  // nftables drop in a slave's namespace
	FaultPartitionMaster = "partition-master" // nftables drop in the master's namespace
	FaultLoss            = "asymmetric-loss"  // the proxy holds chunks in one direction of one node
	FaultDuplicate       = "duplicate-name"   // a second process with a live slave's name
)

// AllFaults in schedule order of the table.
var AllFaults = []string{FaultKill, FaultTerm, FaultStop, FaultMasterRestart, FaultPartitionSlave,
	FaultPartitionMaster, FaultLoss, FaultDuplicate}

// excuses lists the faults under which a Call may be reported failed and yet
// have run: the process died or stalled, or the network was cut, so no
// runtime can tell the caller the truth in time (docs/reliability.md).
var excuses = map[string]bool{FaultKill: true, FaultStop: true, FaultMasterRestart: true,
	FaultPartitionSlave: true, FaultPartitionMaster: true}

// Event is one fault as it happened.
type Event struct {
	Kind  string
	Node  string
	Start time.Time
	End   time.Time // when healed: restarted and ready, continued, reconnected
	Note  string
	// Agree is how long after End every node agreed on the name table again
	// (AgreeErr says why not, within Config.AgreeBeats heartbeats).
	Agree    time.Duration
	AgreeErr string
}

// faulter injects one fault at a time, at random.
type faulter struct {
	h   *Harness
	rng *rand.Rand
}

func (f *faulter) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(f.rng.Int64N(int64(hi-lo)+1))
}

func (f *faulter) slave() *Node { return f.h.slaves[f.rng.IntN(len(f.h.slaves))] }

// schedule runs faults until ctx ends; each is healed before the next.
func (f *faulter) schedule(ctx context.Context) []Event {
	var evs []Event
	for {
		sleepCtx(ctx, f.between(time.Second, 3*time.Second))
		if ctx.Err() != nil {
			return evs
		}
		kind := AllFaults[f.rng.IntN(len(AllFaults))]
		ev := f.inject(ctx, kind)
		var err error
		if ev.Agree, err = f.h.agree(context.WithoutCancel(ctx), f.h.nodes(), time.Duration(f.h.cfg.AgreeBeats)*f.h.cfg.Heartbeat); err != nil {
			ev.AgreeErr = err.Error()
		}
		f.h.logf("fault %-16s %-4s %6.2fs agreed after %v %s%s", ev.Kind, ev.Node, ev.End.Sub(ev.Start).Seconds(),
			ev.Agree.Round(time.Millisecond), ev.Note, ev.AgreeErr)
		evs = append(evs, ev)
	}
}

// inject applies one fault and heals it; it never returns with the fault
// still on (ctx only shortens the waits).
func (f *faulter) inject(ctx context.Context, kind string) Event {
	h := f.h
	ev := Event{Kind: kind, Start: time.Now()}
	switch kind {
	case FaultKill, FaultTerm, FaultMasterRestart:
		n := h.master
		sig := syscall.SIGKILL
		if kind != FaultMasterRestart {
			n = f.slave()
		}
		if kind == FaultTerm {
			sig = syscall.SIGTERM
		}
		ev.Node = n.Name
		n.Signal(sig)
		wctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		code := n.Wait(wctx)
		cancel()
		if code == -2 {
			n.Signal(syscall.SIGKILL)
			n.Wait(context.Background())
			ev.Note = "did not exit in 20s after SIGTERM; killed. "
		} else if kind == FaultTerm {
			ev.Note = "exit " + strconv.Itoa(code) + ". "
		}
		sleepCtx(ctx, f.between(300*time.Millisecond, 2*time.Second))
		ev.Note += h.restart(n)
	case FaultStop:
		n := f.slave()
		ev.Node = n.Name
		n.Signal(syscall.SIGSTOP)
		sleepCtx(ctx, f.between(300*time.Millisecond, 3*time.Second))
		n.Signal(syscall.SIGCONT)
	case FaultPartitionSlave, FaultPartitionMaster:
		n := h.master
		if kind == FaultPartitionSlave {
			n = f.slave()
		}
		ev.Node = n.Name
		if err := h.script(context.Background(), "partition", strconv.Itoa(n.Index)); err != nil {
			ev.Note = err.Error()
		}
		sleepCtx(ctx, f.between(time.Second, 3*time.Second))
		if err := h.script(context.Background(), "heal", strconv.Itoa(n.Index)); err != nil {
			ev.Note += err.Error()
		}
	case FaultLoss:
		all := append([]*Node{h.master}, h.slaves...)
		n := all[f.rng.IntN(len(all))]
		d := proxy.Dir(f.rng.IntN(2))
		ev.Node = n.Name
		n.Proxy.SetFault(d, proxy.Fault{Prob: 0.3, HoldMin: 50 * time.Millisecond, HoldMax: 400 * time.Millisecond})
		before := n.Proxy.Held(d)
		sleepCtx(ctx, f.between(2*time.Second, 5*time.Second))
		n.Proxy.Clear()
		ev.Note = fmt.Sprintf("%s, %d chunks held", d, n.Proxy.Held(d)-before)
	case FaultDuplicate:
		victim := f.slave()
		ev.Node = victim.Name
		if err := h.spare.Start(victim.Name); err != nil {
			ev.Note = err.Error()
			break
		}
		wctx, cancel := context.WithTimeout(ctx, f.between(time.Second, 4*time.Second))
		code := h.spare.Wait(wctx)
		cancel()
		if code != -2 {
			ev.Note = "newcomer exited by itself with code " + strconv.Itoa(code)
		} else {
			ev.Note = "newcomer ran until stopped"
			h.spare.Stop(10 * time.Second)
		}
	}
	ev.End = time.Now()
	return ev
}

// restart starts n again and waits until it is ready; it reports what went
// wrong, if anything, as a note.
func (h *Harness) restart(n *Node) string {
	if err := n.Start(""); err != nil {
		return err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.WaitReady(ctx); err != nil {
		return "restart: " + err.Error()
	}
	return ""
}
