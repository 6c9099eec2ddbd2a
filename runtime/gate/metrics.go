package gate

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// closeCodes are the close reasons counted by lotou_gate_closed_total;
// "" (the client went away) is counted as "client".
var closeCodes = []string{"", CodeMalformed, CodeTooLarge, CodeUnauthorized, CodeIdle, CodeFull,
	CodeSlowConsumer, CodeUnavailable, CodeKicked, CodeShutdown, CodeBadKind, CodeMoveCommand}

// Metrics counts what the gate does; it is a prometheus.Collector read at
// scrape time, so the message path only bumps atomics.
type Metrics struct {
	g             *Gate
	accepted      [numTransports]atomic.Uint64
	closes        map[string]*atomic.Uint64
	refused       atomic.Uint64
	in, out       atomic.Uint64
	rateLimited   atomic.Uint64
	authFailed    atomic.Uint64
	forwardFailed atomic.Uint64
	queueFull     atomic.Uint64
	moves         atomic.Uint64

	descs map[string]*prometheus.Desc
}

func newMetrics(g *Gate) *Metrics {
	m := &Metrics{g: g, closes: map[string]*atomic.Uint64{}}
	for _, c := range closeCodes {
		m.closes[c] = new(atomic.Uint64)
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("lotou_gate_"+name, help, labels, nil)
	}
	m.descs = map[string]*prometheus.Desc{
		"sessions":    d("sessions", "Authenticated clients connected now."),
		"connections": d("connections", "Client connections open now, authenticated or not."),
		"accepted":    d("accepted_total", "Client connections accepted, by transport (tcp, ws).", "transport"),
		"closed":      d("closed_total", "Client connections closed, by reason (client: the client went away).", "reason"),
		"refused":     d("refused_total", "Connections refused at once: max connections reached, draining or stopping."),
		"messages":    d("messages_total", "Client messages, by direction (in, out).", "direction"),
		"rate":        d("rate_limited_total", "Client messages dropped by the per-client token bucket or a busy agent."),
		"auth":        d("auth_failures_total", "Hellos refused by the authenticator or not a hello."),
		"forward":     d("forward_failures_total", "Client messages the game service did not take or answer."),
		"queue":       d("queue_full_total", "Clients disconnected because their outbound queue was full."),
		"moves":       d("moves_total", "Move notices sent while draining."),
	}
	return m
}

func (m *Metrics) closed(code string) {
	c, ok := m.closes[code]
	if !ok {
		c = m.closes[CodeBadKind]
	}
	c.Add(1)
}

// Closed returns how many connections closed with the error code ("" for
// those the client closed).
func (m *Metrics) Closed(code string) uint64 {
	if c, ok := m.closes[code]; ok {
		return c.Load()
	}
	return 0
}

// RateLimited returns the client messages dropped by the rate limits.
func (m *Metrics) RateLimited() uint64 { return m.rateLimited.Load() }

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range m.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	gauge := func(name string, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(m.descs[name], prometheus.GaugeValue, v, labels...)
	}
	count := func(name string, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(m.descs[name], prometheus.CounterValue, float64(v), labels...)
	}
	gauge("sessions", float64(m.g.sessions.Load()))
	gauge("connections", float64(m.g.open.Load()))
	for i, name := range transportNames {
		count("accepted", m.accepted[i].Load(), name)
	}
	for code, c := range m.closes {
		if code == "" {
			code = "client"
		}
		count("closed", c.Load(), code)
	}
	count("refused", m.refused.Load())
	count("messages", m.in.Load(), "in")
	count("messages", m.out.Load(), "out")
	count("rate", m.rateLimited.Load())
	count("auth", m.authFailed.Load())
	count("forward", m.forwardFailed.Load())
	count("queue", m.queueFull.Load())
	count("moves", m.moves.Load())
}
