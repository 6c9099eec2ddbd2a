package node

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/lotou-io/lotou/runtime/core"
)

var kindNames = map[core.Kind]string{
	core.KindSend: "send", core.KindRequest: "request", core.KindCall: "call",
	core.KindReply: "reply", core.KindClose: "close",
}

// metrics is the node's own Prometheus registry (no global state). Counters
// kept elsewhere (cluster, transport) are read at scrape time, so the
// message path pays nothing for metrics.
type metrics struct {
	n       *Node
	reg     *prometheus.Registry
	latency prometheus.Histogram

	messages  *prometheus.Desc
	services  *prometheus.Desc
	mailbox   *prometheus.Desc
	connected *prometheus.Desc
	nodes     *prometheus.Desc
	frames    *prometheus.Desc
	bytes     *prometheus.Desc
	queued    *prometheus.Desc
	dropped   *prometheus.Desc
	rejected  *prometheus.Desc
	pending   *prometheus.Desc
}

func newMetrics(n *Node) *metrics {
	m := &metrics{
		n:   n,
		reg: prometheus.NewRegistry(),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "lotou_call_latency_seconds",
			Help:    "Round-trip time of remote calls and requests made by this node.",
			Buckets: prometheus.ExponentialBuckets(10e-6, 2, 18),
		}),
		messages: prometheus.NewDesc("lotou_messages_total",
			"Messages that crossed the network, by direction (in, out) and kind.", []string{"direction", "kind"}, nil),
		services: prometheus.NewDesc("lotou_services",
			"Services running on this node.", nil, nil),
		mailbox: prometheus.NewDesc("lotou_mailbox_depth",
			"Messages waiting in the mailbox of each built-in service.", []string{"service"}, nil),
		connected: prometheus.NewDesc("lotou_connected_nodes",
			"Live connections to other nodes (dialled and accepted).", nil, nil),
		nodes: prometheus.NewDesc("lotou_cluster_nodes",
			"Cluster members known to this node, by state (up, down).", []string{"state"}, nil),
		frames: prometheus.NewDesc("lotou_peer_frames_total",
			"Frames per peer link; link is out (dialled) or in (accepted), dir is rx or tx.", []string{"peer", "link", "dir"}, nil),
		bytes: prometheus.NewDesc("lotou_peer_bytes_total",
			"Bytes per peer link; link is out (dialled) or in (accepted), dir is rx or tx.", []string{"peer", "link", "dir"}, nil),
		queued: prometheus.NewDesc("lotou_send_queue_bytes",
			"Bytes waiting in the send queue of outbound links.", []string{"peer"}, nil),
		dropped: prometheus.NewDesc("lotou_messages_dropped_total",
			"Messages nobody waited for (Sends, events, stale replies) that were dropped, by reason. "+
				"Calls and Requests are never dropped silently: they get an error reply.", []string{"reason"}, nil),
		rejected: prometheus.NewDesc("lotou_handshake_rejected_total",
			"Connections to the cluster port refused before authentication, by reason; only a sample is logged.", []string{"reason"}, nil),
		pending: prometheus.NewDesc("lotou_handshake_pending",
			"Connections to the cluster port accepted and not yet authenticated.", nil, nil),
	}
	if drops := n.opts.LogDropped; drops != nil {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "lotou_log_dropped_total",
			Help: "Log lines dropped because the log buffer was full.",
		}, func() float64 { return float64(drops()) }))
	}
	m.reg.MustRegister(m, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observeCall(d time.Duration) { m.latency.Observe(d.Seconds()) }

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.messages, m.services, m.mailbox, m.connected, m.nodes, m.frames, m.bytes, m.queued, m.dropped, m.rejected, m.pending} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	if k := m.n.Core(); k != nil {
		ch <- prometheus.MustNewConstMetric(m.services, prometheus.GaugeValue, float64(k.Services()))
		for _, r := range core.DropReasons() {
			ch <- prometheus.MustNewConstMetric(m.dropped, prometheus.CounterValue, float64(k.Drops(r)), r.String())
		}
	}
	for _, s := range m.n.builtins() {
		ch <- prometheus.MustNewConstMetric(m.mailbox, prometheus.GaugeValue, float64(s.Queued()), s.Name())
	}
	cl := m.n.cl
	if cl == nil {
		return
	}
	st := cl.Stats()
	for kind, name := range kindNames {
		ch <- prometheus.MustNewConstMetric(m.messages, prometheus.CounterValue, float64(st.In[kind].Load()), "in", name)
		ch <- prometheus.MustNewConstMetric(m.messages, prometheus.CounterValue, float64(st.Out[kind].Load()), "out", name)
	}
	ch <- prometheus.MustNewConstMetric(m.connected, prometheus.GaugeValue, float64(cl.ConnectedPeers()))
	tr := cl.Transport()
	for reason, n := range tr.Rejections() {
		ch <- prometheus.MustNewConstMetric(m.rejected, prometheus.CounterValue, float64(n), reason)
	}
	ch <- prometheus.MustNewConstMetric(m.pending, prometheus.GaugeValue, float64(tr.Pending()))
	up, down := 0, 0
	for _, e := range cl.Nodes() {
		if e.Up {
			up++
		} else {
			down++
		}
	}
	ch <- prometheus.MustNewConstMetric(m.nodes, prometheus.GaugeValue, float64(up), "up")
	ch <- prometheus.MustNewConstMetric(m.nodes, prometheus.GaugeValue, float64(down), "down")
	seen := map[[2]string]bool{}
	for _, p := range cl.PeerStats() {
		key := [2]string{p.Peer, p.Direction}
		if seen[key] { // two links to one peer in one direction: keep the first
			continue
		}
		seen[key] = true
		s := p.Stats
		ch <- prometheus.MustNewConstMetric(m.frames, prometheus.CounterValue, float64(s.FramesIn.Load()), p.Peer, p.Direction, "rx")
		ch <- prometheus.MustNewConstMetric(m.frames, prometheus.CounterValue, float64(s.FramesOut.Load()), p.Peer, p.Direction, "tx")
		ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.CounterValue, float64(s.BytesIn.Load()), p.Peer, p.Direction, "rx")
		ch <- prometheus.MustNewConstMetric(m.bytes, prometheus.CounterValue, float64(s.BytesOut.Load()), p.Peer, p.Direction, "tx")
	}
	for peer, bytes := range cl.QueuedBytes() {
		ch <- prometheus.MustNewConstMetric(m.queued, prometheus.GaugeValue, float64(bytes), peer)
	}
}
