package node

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/gate"
)

// GateLimits are the gate limits set in the configuration. A zero field
// is not set: the program's gate.Options value stands, else the gate's
// default. See gate.Options for what each bounds.
type GateLimits struct {
	MaxMessage  int           // bytes
	Rate        float64       // messages per second per client; < 0: no limit
	Burst       int           // messages a client may send at once
	IdleTimeout time.Duration // a client silent this long is closed
	MaxConns    int           // clients on this node's gate
	Queue       int           // messages queued to one client before it is cut off as too slow
}

// apply overrides o's limits with the ones set.
func (l GateLimits) apply(o *gate.Options) {
	override(&o.MaxMessage, l.MaxMessage)
	override(&o.Rate, l.Rate)
	override(&o.Burst, l.Burst)
	override(&o.IdleTimeout, l.IdleTimeout)
	override(&o.MaxConns, l.MaxConns)
	override(&o.QueueSize, l.Queue)
}

// override sets *dst to v unless v is the zero value (not set).
func override[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

// gateLimitSettings are the configuration keys of GateLimits.
func gateLimitSettings() []*setting {
	return []*setting{
		{flag: "gate-max-message", env: contract.EnvGateMaxMessage, usage: "largest game-client message in bytes (default 65536)", file: func(c *fileConfig) string { return c.GateMaxMessage }},
		{flag: "gate-rate", env: contract.EnvGateRate, usage: "each game client's sustained messages per second, or off (default 50)", file: func(c *fileConfig) string { return c.GateRate }},
		{flag: "gate-burst", env: contract.EnvGateBurst, usage: "messages a game client may send at once (default 2 x rate)", file: func(c *fileConfig) string { return c.GateBurst }},
		{flag: "gate-idle-timeout", env: contract.EnvGateIdleTimeout, usage: "close a game client silent this long (default 60s)", file: func(c *fileConfig) string { return c.GateIdleTimeout }},
		{flag: "gate-max-conns", env: contract.EnvGateMaxConns, usage: "game clients on this node's gate (default 20000)", file: func(c *fileConfig) string { return c.GateMaxConns }},
		{flag: "gate-queue", env: contract.EnvGateQueue, usage: "messages queued to one game client before it is disconnected as too slow (default 256)", file: func(c *fileConfig) string { return c.GateQueue }},
	}
}

// maxGateMessage is the gate's own bound on MaxMessage (gate.Options.Validate).
const maxGateMessage = 16 << 20

// parseGateLimits reads the settings of gateLimitSettings.
func parseGateLimits(s map[string]*setting) (GateLimits, error) {
	var l GateLimits
	ints := []struct {
		flag     string
		dst      *int
		min, max int
	}{
		{"gate-max-message", &l.MaxMessage, 64, maxGateMessage},
		{"gate-burst", &l.Burst, 1, math.MaxInt32},
		{"gate-max-conns", &l.MaxConns, 1, math.MaxInt32},
		{"gate-queue", &l.Queue, 1, 1 << 20},
	}
	for _, f := range ints {
		v := s[f.flag].val
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < f.min || n > f.max {
			return l, fmt.Errorf("--%s %q: want a whole number from %d to %d", f.flag, v, f.min, f.max)
		}
		*f.dst = n
	}
	// A YAML file's unquoted off reads as false.
	if v := s["gate-rate"].val; v == "off" || v == "false" {
		l.Rate = -1
	} else if v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0) || math.IsInf(r, 0) {
			return l, fmt.Errorf("--gate-rate %q: want messages per second above 0, or off", v)
		}
		l.Rate = r
	}
	if v := s["gate-idle-timeout"].val; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return l, fmt.Errorf("--gate-idle-timeout %q: want a positive duration such as 60s", v)
		}
		l.IdleTimeout = d
	}
	return l, nil
}
