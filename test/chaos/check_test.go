package chaos

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCheckRules(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	cfg := Config{Deadline: 2 * time.Second, Heartbeat: 200 * time.Millisecond, AgreeBeats: 10}
	call := func(id, target, via string, start, end int, err string) CallRec {
		return CallRec{ID: id, Target: target, Via: via, Start: at(start), End: at(end), Returned: true, Err: err}
	}
	ev := func(kind, node string, start, end int) Event {
		return Event{Kind: kind, Node: node, Start: at(start), End: at(end)}
	}
	tests := []struct {
		name   string
		calls  []CallRec
		exec   map[string]int
		events []Event
		bad    []string // invariants expected to fail
	}{
		{name: "all answered and ran once",
			calls: []CallRec{call("a", "s1", "", 0, 10, ""), call("b", "s2", "s1", 0, 20, "")},
			exec:  map[string]int{"a": 1, "b": 1}},
		{name: "failed and not run is fine",
			calls: []CallRec{call("a", "s1", "", 0, 10, "node down")}},
		{name: "failed but ran under SIGTERM is a violation",
			calls:  []CallRec{call("a", "s1", "", 100, 150, "node down")},
			exec:   map[string]int{"a": 1},
			events: []Event{ev(FaultTerm, "s1", 90, 1000)},
			bad:    []string{InvFailedNotRun}},
		{name: "failed but ran under SIGKILL of the target is excused",
			calls:  []CallRec{call("a", "s1", "", 100, 150, "node down")},
			exec:   map[string]int{"a": 1},
			events: []Event{ev(FaultKill, "s1", 120, 1000)}},
		{name: "failed but ran under a partition of the relay is excused",
			calls:  []CallRec{call("a", "s2", "s1", 100, 2100, "call timeout")},
			exec:   map[string]int{"a": 1},
			events: []Event{ev(FaultPartitionSlave, "s1", 500, 2500)}},
		{name: "a crash of a node off the path does not excuse",
			calls:  []CallRec{call("a", "s2", "s1", 100, 150, "node down")},
			exec:   map[string]int{"a": 1},
			events: []Event{ev(FaultKill, "s3", 90, 1000)},
			bad:    []string{InvFailedNotRun}},
		{name: "a crash healed longer than a deadline before does not excuse",
			calls:  []CallRec{call("a", "s1", "", 5000, 5050, "node down")},
			exec:   map[string]int{"a": 1},
			events: []Event{ev(FaultKill, "s1", 0, 1000)},
			bad:    []string{InvFailedNotRun}},
		{name: "hung and late calls",
			calls: []CallRec{{ID: "a", Target: "s1", Start: at(0)}, call("b", "s1", "", 0, 3000, "call timeout")},
			bad:   []string{InvNoHang}},
		{name: "ran twice",
			calls: []CallRec{call("a", "s1", "", 0, 10, "")},
			exec:  map[string]int{"a": 2},
			bad:   []string{InvAtMostOnce}},
		{name: "answered OK without running, or with another reply",
			calls: []CallRec{call("a", "s1", "", 0, 10, ""), {ID: "b", Target: "s1", Start: at(0), End: at(5), Returned: true, Reply: "x"}},
			exec:  map[string]int{"b": 1},
			bad:   []string{InvOKRan}},
		{name: "no agreement after a heal",
			events: []Event{{Kind: FaultLoss, Node: "s1", AgreeErr: "s1 does not list ledger:s2"}},
			bad:    []string{InvAgree}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := range tt.calls {
				if tt.calls[i].Returned && tt.calls[i].Err == "" && tt.calls[i].Reply == "" {
					tt.calls[i].Reply = tt.calls[i].ID
				}
			}
			exec := tt.exec
			if exec == nil {
				exec = map[string]int{}
			}
			res := &Result{Calls: tt.calls, Executed: exec, Events: tt.events,
				Baseline: map[string]Resources{"m": {Goroutines: 30, RSS: 10 << 20}},
				Final:    map[string]Resources{"m": {Goroutines: 31, RSS: 12 << 20}}}
			var bad []string
			for _, v := range Check(cfg, res, "") {
				if !v.OK {
					bad = append(bad, v.Name)
				}
			}
			if strings.Join(bad, ",") != strings.Join(tt.bad, ",") {
				t.Fatalf("failing invariants %v, want %v\n%s", bad, tt.bad, Table(cfg, res, Check(cfg, res, "")))
			}
		})
	}
}

func TestResourcesBounds(t *testing.T) {
	base := Resources{Goroutines: 30, RSS: 10 << 20}
	tests := []struct {
		now  Resources
		want bool
	}{
		{Resources{Goroutines: 30, RSS: 10 << 20}, true},
		{Resources{Goroutines: 30 + goroutineSlack, RSS: 15<<20 + rssSlack}, true},
		{Resources{Goroutines: 31 + goroutineSlack, RSS: 10 << 20}, false},
		{Resources{Goroutines: 30, RSS: 15<<20 + rssSlack + 1}, false},
	}
	for _, tt := range tests {
		if got := withinBaseline(base, tt.now); got != tt.want {
			t.Errorf("withinBaseline(%+v, %+v) = %v, want %v", base, tt.now, got, tt.want)
		}
	}
}

func TestReadRecords(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"exec-s1-10.log": "w0-1 1000\nw0-2 2000\n",
		"exec-s1-11.log": "w0-2 3000\n\n",
		"other.txt":      "w9-9 1\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, at, err := readRecords(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(n) != 2 || n["w0-1"] != 1 || n["w0-2"] != 2 {
		t.Fatalf("counts %v", n)
	}
	if !at["w0-1"].Equal(time.Unix(0, 1000)) || at["w0-2"].IsZero() {
		t.Fatalf("times %v", at)
	}
}

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{"CHAOS_DURATION": "5m", "CHAOS_SEED": "42", "CHAOS_NODES": "7", "CHAOS_ASSERT": "no-hang, ok-ran"}
	c, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Duration != 5*time.Minute || c.Seed != 42 || c.Slaves != 5 || strings.Join(c.Assert, ",") != "no-hang,ok-ran" {
		t.Fatalf("config %+v", c)
	}
	for _, bad := range []map[string]string{{"CHAOS_NODES": "5"}, {"CHAOS_ASSERT": "nope"}, {"CHAOS_DURATION": "x"}} {
		if _, err := ConfigFromEnv(func(k string) string { return bad[k] }); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	c, err = ConfigFromEnv(func(k string) string { return map[string]string{"CHAOS_ASSERT": "none"}[k] })
	if err != nil || len(c.Assert) != 0 {
		t.Fatalf("none: %v %v", c.Assert, err)
	}
}
