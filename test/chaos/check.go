package chaos

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Bounds of the resources invariant: after heal and with the load stopped, a
// node may hold goroutineSlack more goroutines than at the warm baseline
// (links re-dialled in another order) and rssFactor × baseline + rssSlack of
// resident memory (the Go runtime returns memory lazily).
const (
	goroutineSlack = 12
	rssFactor      = 1.5
	rssSlack       = 24 << 20
	// hangSlack is how late after its deadline a Call may return before it
	// counts as hung.
	hangSlack = 500 * time.Millisecond
)

func withinBaseline(base, now Resources) bool {
	return now.Goroutines <= base.Goroutines+goroutineSlack && float64(now.RSS) <= float64(base.RSS)*rssFactor+rssSlack
}

// readRecords counts every request id in every record file and keeps the
// time of its first execution.
func readRecords(dir string) (map[string]int, map[string]time.Time, error) {
	files, err := filepath.Glob(filepath.Join(dir, "exec-*.log"))
	if err != nil {
		return nil, nil, err
	}
	out, at := map[string]int{}, map[string]time.Time{}
	for _, f := range files {
		fh, err := os.Open(f) //nolint:gosec // G304: the harness's own records
		if err != nil {
			return nil, nil, err
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) == 0 {
				continue
			}
			id := fields[0]
			out[id]++
			if len(fields) > 1 && out[id] == 1 {
				if ns, err := strconv.ParseInt(fields[1], 10, 64); err == nil {
					at[id] = time.Unix(0, ns)
				}
			}
		}
		_ = fh.Close()
		if err := sc.Err(); err != nil {
			return nil, nil, fmt.Errorf("reading %s: %w", f, err)
		}
	}
	return out, at, nil
}

// Verdict is one row of the invariant table.
type Verdict struct {
	Name   string
	OK     bool
	Detail string
}

// excusedBy returns the fault that excuses a failed Call that ran, or nil:
// a crash or partition fault (excuses) on the Call's target or relay node
// whose span [Start, End+grace] overlaps the Call's [Start, End].
func excusedBy(r *CallRec, evs []Event, grace time.Duration) *Event {
	for i := range evs {
		e := &evs[i]
		if !excuses[e.Kind] || (e.Node != r.Target && e.Node != r.Via) {
			continue
		}
		if r.Start.Before(e.End.Add(grace)) && e.Start.Before(r.End) {
			return e
		}
	}
	return nil
}

// Check computes every invariant from a result.
func Check(cfg Config, res *Result, harnessLeak string) []Verdict {
	var hung, late, failed, failedRan, excused, ok, okMissing, okWrong int
	var examples []string
	blame := map[string]int{} // not excused failed-but-ran, by the fault nearest on the path
	issued := map[string]bool{}
	for i := range res.Calls {
		r := &res.Calls[i]
		issued[r.ID] = true
		switch {
		case !r.Returned:
			hung++
		case r.End.Sub(r.Start) > cfg.Deadline+hangSlack:
			late++
		}
		if r.Failed() {
			failed++
			if res.Executed[r.ID] > 0 {
				if e := excusedBy(r, res.Events, cfg.Deadline); e != nil {
					excused++
				} else {
					failedRan++
					blame[pathFault(r, res.Events, cfg.Deadline)+collateral(r, res.Calls, res.Events, cfg.Deadline)]++
					if len(examples) < 5 {
						examples = append(examples, fmt.Sprintf("%s %s→%s %q, ran %s, nearest fault %s", r.ID, orDash(r.Via), r.Target,
							r.Err, ranText(r, res.ExecAt[r.ID]), nearest(r, res.Events)))
					}
				}
			}
		}
		if r.Returned && r.Err == "" {
			ok++
			if res.Executed[r.ID] == 0 {
				okMissing++
			} else if r.Reply != r.ID {
				okWrong++
			}
		}
	}
	var twice, unknown int
	for id, n := range res.Executed {
		if n > 1 {
			twice++
		}
		if !issued[id] {
			unknown++
		}
	}
	vs := []Verdict{
		{InvNoHang, hung+late == 0, fmt.Sprintf("%d calls: %d hung, %d returned later than deadline %v + %v", len(res.Calls), hung, late, cfg.Deadline, hangSlack)},
		{InvFailedNotRun, failedRan == 0, fmt.Sprintf("%d failed, %d of them ran: %d excused (crash/partition on path), %d not excused%s%s",
			failed, failedRan+excused, excused, failedRan, countText(" (by fault on path: ", blame, ")"), exampleText(examples))},
		{InvAtMostOnce, twice == 0, fmt.Sprintf("%d ids executed, %d more than once", len(res.Executed), twice)},
		{InvOKRan, okMissing+okWrong+unknown == 0, fmt.Sprintf("%d answered OK: %d not executed, %d with another reply; %d executed ids never issued", ok, okMissing, okWrong, unknown)},
		agreeVerdict(cfg, res),
		resourcesVerdict(res),
		{InvHarness, harnessLeak == "", orText(harnessLeak, "load client, proxies and waiters all returned")},
	}
	return vs
}

func resourcesVerdict(res *Result) Verdict {
	v := Verdict{Name: InvResources, OK: true}
	var parts []string
	names := make([]string, 0, len(res.Baseline))
	for n := range res.Baseline {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		b, f := res.Baseline[n], res.Final[n]
		good := f.RSS > 0 && withinBaseline(b, f)
		if !good {
			v.OK = false
		}
		parts = append(parts, fmt.Sprintf("%s g %d→%d rss %.0f→%.0fMiB%s", n, b.Goroutines, f.Goroutines,
			float64(b.RSS)/(1<<20), float64(f.RSS)/(1<<20), map[bool]string{true: "", false: " (over)"}[good]))
	}
	v.Detail = strings.Join(parts, "; ")
	return v
}

// agreeVerdict: after every fault's heal and after the final heal, all
// nodes agreed within cfg.AgreeBeats heartbeats.
func agreeVerdict(cfg Config, res *Result) Verdict {
	v := Verdict{Name: InvAgree, OK: res.AgreeErr == ""}
	var worst time.Duration
	var late []string
	for _, e := range res.Events {
		if e.AgreeErr != "" {
			v.OK = false
			if len(late) < 3 {
				late = append(late, e.Kind+" of "+e.Node+": "+e.AgreeErr)
			}
			continue
		}
		worst = max(worst, e.Agree)
	}
	beats := func(d time.Duration) float64 { return float64(d) / float64(cfg.Heartbeat) }
	v.Detail = fmt.Sprintf("after %d fault heals: worst %.1f heartbeats, %d not within %d", len(res.Events), beats(worst), countLate(res.Events), cfg.AgreeBeats)
	if res.AgreeErr != "" {
		v.Detail += "; final heal: " + res.AgreeErr
	} else {
		v.Detail += fmt.Sprintf("; final heal: %.1f heartbeats", beats(res.AgreeAfter))
	}
	if len(late) > 0 {
		v.Detail += "; e.g. " + strings.Join(late, " / ")
	}
	return v
}

func countLate(evs []Event) int {
	n := 0
	for _, e := range evs {
		if e.AgreeErr != "" {
			n++
		}
	}
	return n
}

// pathFault names the kind of the fault on the Call's path (target or
// relay) that overlaps it, "none" if no fault was on its path.
func pathFault(r *CallRec, evs []Event, grace time.Duration) string {
	for _, e := range evs {
		if (e.Node == r.Target || e.Node == r.Via) && r.Start.Before(e.End.Add(grace)) && e.Start.Before(r.End) {
			return e.Kind
		}
	}
	return "none"
}

// collateral explains a relayed Call with no fault on its path: if another
// Call through the same relay overlapped it and had a fault on its own
// target, the relay service may have been held by that Call. (Before issue
// 11's last part, nested Calls returned last in, first out and were cut at
// the enclosing Call's deadline, and Service.Lookup of a vanished name
// blocked the service; suspended handlers now have their own strands and
// deadlines, so this label should no longer appear.) It returns
// "/relay-behind-<kind>" or "".
func collateral(r *CallRec, calls []CallRec, evs []Event, grace time.Duration) string {
	if r.Via == "" {
		return ""
	}
	for i := range calls {
		q := &calls[i]
		if q.ID == r.ID || q.Via != r.Via || !q.Returned || !q.Start.Before(r.End) || !r.Start.Before(q.End) {
			continue
		}
		for _, e := range evs {
			if excuses[e.Kind] && e.Node == q.Target && q.Start.Before(e.End.Add(grace)) && e.Start.Before(q.End) {
				return "/relay-behind-" + e.Kind
			}
		}
	}
	return ""
}

// countText renders counts sorted by key, "" when empty.
func countText(prefix string, m map[string]int, suffix string) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return prefix + strings.Join(parts, " ") + suffix
}

// nearest names the fault closest in time to a Call, for the examples.
func nearest(r *CallRec, evs []Event) string {
	best, bestD := "no fault", time.Duration(1<<62)
	for _, e := range evs {
		d := absDur(r.Start.Sub(e.Start))
		if r.Start.After(e.Start) && r.Start.Before(e.End) {
			d = 0
		}
		if d < bestD {
			best, bestD = fmt.Sprintf("%s of %s %+.1fs", e.Kind, e.Node, r.Start.Sub(e.Start).Seconds()), d
		}
	}
	return best
}

// ranText says when a Call ran relative to its start and end.
func ranText(r *CallRec, at time.Time) string {
	if at.IsZero() {
		return "(time unknown)"
	}
	return fmt.Sprintf("%.0fms after the call started (it failed after %.0fms)",
		float64(at.Sub(r.Start))/1e6, float64(r.End.Sub(r.Start))/1e6)
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func orDash(s string) string { return orText(s, "-") }

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func exampleText(ex []string) string {
	if len(ex) == 0 {
		return ""
	}
	return "; e.g. " + strings.Join(ex, " | ")
}

// Table renders the verdicts, whether each is asserted, and the fault and
// outcome counts.
func Table(cfg Config, res *Result, vs []Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nchaos run: %v of faults, seed %d, %d slaves, %d workers, heartbeat %v, call deadline %v\n",
		cfg.Duration, cfg.Seed, cfg.Slaves, cfg.Workers, cfg.Heartbeat, cfg.Deadline)
	counts := map[string]int{}
	for _, e := range res.Events {
		counts[e.Kind]++
	}
	b.WriteString("faults:")
	for _, k := range AllFaults {
		fmt.Fprintf(&b, " %s=%d", k, counts[k])
	}
	errs := map[string]int{}
	retried := 0
	for i := range res.Calls {
		if res.Calls[i].Failed() {
			errs[res.Calls[i].Class]++
		}
		if res.Calls[i].Attempts > 1 {
			retried++
		}
	}
	b.WriteString(countText("\nerrors: ", errs, ""))
	b.WriteString(countText("\nrestarts: ", res.Restarts, ""))
	fmt.Fprintf(&b, "\nretried with the same id after a not-delivered answer: %d calls", retried)
	fmt.Fprintf(&b, "\n\n| invariant | result | asserted | detail |\n|---|---|---|---|\n")
	for _, v := range vs {
		res := "PASS"
		if !v.OK {
			res = "FAIL"
		}
		asserted := "no"
		if slices.Contains(cfg.Assert, v.Name) {
			asserted = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", v.Name, res, asserted, strings.ReplaceAll(v.Detail, "|", "/"))
	}
	return b.String()
}
