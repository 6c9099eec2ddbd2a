package chaos

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Invariants, by the short names CHAOS_ASSERT lists.
const (
	InvNoHang       = "no-hang"        // every Call answered or failed within its deadline
	InvFailedNotRun = "failed-not-run" // no Call reported failed ran, except under a crash or partition
	InvAtMostOnce   = "at-most-once"   // no request id ran twice
	InvOKRan        = "ok-ran"         // every Call answered OK ran once, and the reply is its own
	InvAgree        = "names-agree"    // after heal every node agrees on nodes and names within AgreeBeats
	InvResources    = "resources"      // goroutines and RSS of every node back to baseline
	InvHarness      = "harness-clean"  // the harness's own goroutines back to baseline
)

// AllInvariants in table order.
var AllInvariants = []string{InvNoHang, InvFailedNotRun, InvAtMostOnce, InvOKRan, InvAgree, InvResources, InvHarness}

// Config is read from the environment hack/chaos.sh sets.
type Config struct {
	Duration   time.Duration // CHAOS_DURATION: how long faults are injected
	Seed       uint64        // CHAOS_SEED: the fault schedule and load (default: the clock)
	Net        string        // CHAOS_NET: the first three octets of the bridge's /24
	Slaves     int           // CHAOS_NODES minus the master and the spare (duplicate) namespace
	Workers    int           // CHAOS_WORKERS: concurrent callers
	Assert     []string      // CHAOS_ASSERT: invariants that fail the test (default all)
	Heartbeat  time.Duration // node heartbeat interval
	Deadline   time.Duration // each Call's deadline
	AgreeBeats int           // heartbeats allowed for the name tables to agree after heal
}

// ConfigFromEnv reads Config; getenv is os.Getenv in the test.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{Duration: 75 * time.Second, Net: "10.213.0", Slaves: 4, Workers: 8,
		Heartbeat: 200 * time.Millisecond, Deadline: 2 * time.Second, AgreeBeats: 25,
		Seed: uint64(time.Now().UnixNano()), Assert: AllInvariants}
	var err error
	if v := getenv("CHAOS_DURATION"); v != "" {
		if c.Duration, err = time.ParseDuration(v); err != nil {
			return c, fmt.Errorf("CHAOS_DURATION: %w", err)
		}
	}
	if v := getenv("CHAOS_SEED"); v != "" {
		if c.Seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			return c, fmt.Errorf("CHAOS_SEED: %w", err)
		}
	}
	if v := getenv("CHAOS_NET"); v != "" {
		c.Net = v
	}
	if v := getenv("CHAOS_NODES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 6 {
			return c, fmt.Errorf("CHAOS_NODES %q: want ≥ 6 (master, ≥ 4 slaves, spare)", v)
		}
		c.Slaves = n - 2
	}
	if v := getenv("CHAOS_WORKERS"); v != "" {
		if c.Workers, err = strconv.Atoi(v); err != nil || c.Workers < 1 {
			return c, fmt.Errorf("CHAOS_WORKERS %q: want ≥ 1", v)
		}
	}
	if v := getenv("CHAOS_ASSERT"); v != "" {
		c.Assert = nil // "none" asserts nothing: the table is printed only
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" || s == "none" {
				continue
			}
			if s == "all" {
				c.Assert = AllInvariants
				continue
			}
			if !slices.Contains(AllInvariants, s) {
				return c, fmt.Errorf("CHAOS_ASSERT: unknown invariant %q (known: %s)", s, strings.Join(AllInvariants, ","))
			}
			c.Assert = append(c.Assert, s)
		}
	}
	return c, nil
}
