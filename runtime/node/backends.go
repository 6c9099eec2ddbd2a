package node

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/etcd"
	"github.com/lotou-io/lotou/runtime/nats"
)

// Backends choose how the node finds the others and how messages travel:
// the master registry and direct TCP links by default, etcd and NATS as
// options (see runtime/etcd, runtime/nats and docs/backends.md). Any
// combination works.
type Backends struct {
	// Discovery is contract.DiscoveryMaster (default) or DiscoveryEtcd.
	Discovery string
	// EtcdEndpoints are the etcd client URLs (etcd discovery).
	EtcdEndpoints []string
	// EtcdUsername and EtcdPassword authenticate to etcd.
	EtcdUsername, EtcdPassword string
	// EtcdTLSDir holds ca.crt, tls.crt and tls.key for etcd client TLS.
	EtcdTLSDir string
	// EtcdPrefix is the cluster's key prefix; default derived from the token.
	EtcdPrefix string
	// EtcdTTL is the node's lease (default 3 heartbeats, at least 2s).
	EtcdTTL time.Duration
	// Transport is contract.TransportTCP (default) or TransportNATS.
	Transport string
	// NATSURL is the NATS server URL (NATS transport).
	NATSURL string
	// NATSCreds is a .creds file; NATSToken a token (at most one).
	NATSCreds, NATSToken string
	// NATSTLSDir holds ca.crt, tls.crt and tls.key for NATS client TLS.
	NATSTLSDir string
	// NATSPrefix is the cluster's subject prefix; default derived from the
	// token.
	NATSPrefix string
}

// check fills defaults and reports problems.
func (b *Backends) check(role string) []error {
	if b.Discovery == "" {
		b.Discovery = contract.DiscoveryMaster
	}
	if b.Transport == "" {
		b.Transport = contract.TransportTCP
	}
	if role == contract.RoleStandalone {
		return nil
	}
	var errs []error
	switch b.Discovery {
	case contract.DiscoveryMaster:
	case contract.DiscoveryEtcd:
		if len(b.EtcdEndpoints) == 0 {
			errs = append(errs, fmt.Errorf("etcd discovery needs endpoints (%s)", contract.EnvEtcdEndpoints))
		}
	default:
		errs = append(errs, fmt.Errorf("discovery %q: want %s or %s", b.Discovery, contract.DiscoveryMaster, contract.DiscoveryEtcd))
	}
	switch b.Transport {
	case contract.TransportTCP:
	case contract.TransportNATS:
		if b.NATSURL == "" {
			errs = append(errs, fmt.Errorf("NATS transport needs a server URL (%s)", contract.EnvNATSURL))
		}
		if b.NATSCreds != "" && b.NATSToken != "" {
			errs = append(errs, errors.New("give a NATS credentials file or a NATS token, not both"))
		}
	default:
		errs = append(errs, fmt.Errorf("transport %q: want %s or %s", b.Transport, contract.TransportTCP, contract.TransportNATS))
	}
	return errs
}

// needsMaster reports whether a slave needs the master's address.
func (b *Backends) needsMaster() bool { return b.Discovery != contract.DiscoveryEtcd }

// clusterTag names a cluster in etcd keys and NATS subjects without
// revealing its token: the first 8 bytes of SHA-256("lotou-cluster:"+token).
func clusterTag(token []byte) string {
	sum := sha256.Sum256(append([]byte("lotou-cluster:"), token...))
	return hex.EncodeToString(sum[:8])
}

// backends builds the discovery and delivery backends chosen in
// n.opts.Backends (nil, nil for the master registry over TCP) and exposes
// their counters on /metrics.
func (n *Node) backends() (cluster.Discovery, cluster.Links, error) {
	b, o := n.opts.Backends, n.opts
	var disc cluster.Discovery
	var links cluster.Links
	if b.Discovery == contract.DiscoveryEtcd {
		d, err := NewEtcdDiscovery(b, o.Token, o.Heartbeat, o.Log.WithName("etcd"))
		if err != nil {
			return nil, nil, err
		}
		disc = d
	}
	if b.Transport == contract.TransportNATS {
		no := nats.Options{URL: b.NATSURL, Prefix: b.NATSPrefix, Name: o.Name, Token: b.NATSToken,
			CredsFile: b.NATSCreds, Log: o.Log.WithName("nats")}
		if no.Prefix == "" {
			no.Prefix = "lotou." + clusterTag(o.Token)
		}
		if b.NATSTLSDir != "" {
			cfg, err := etcd.LoadTLSDir(b.NATSTLSDir) // same layout: ca.crt, tls.crt, tls.key
			if err != nil {
				return nil, nil, fmt.Errorf("nats TLS: %w", err)
			}
			no.TLS = cfg
		}
		l, err := nats.New(no)
		if err != nil {
			if disc != nil {
				_ = disc.Close()
			}
			return nil, nil, err
		}
		st := l.Stats()
		n.metrics.reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lotou_nats_slow_consumer_total",
				Help: "NATS slow-consumer events on this node's subscription (messages were dropped)."},
				func() float64 { return float64(st.SlowConsumers.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lotou_nats_disconnects_total",
				Help: "Connections to the NATS server lost."},
				func() float64 { return float64(st.Disconnects.Load()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "lotou_nats_published_total",
				Help: "NATS messages published (each carries one or more frames)."},
				func() float64 { return float64(st.Published.Load()) }),
		)
		links = l
	}
	return disc, links, nil
}

// NewEtcdDiscovery builds the etcd discovery backend from b the way
// lotou-node does (prefix derived from token unless b.EtcdPrefix is set,
// lease of contract.MissedHeartbeats heartbeats unless b.EtcdTTL is), so
// lotouctl finds the same cluster as the nodes.
func NewEtcdDiscovery(b Backends, token []byte, heartbeat time.Duration, log logr.Logger) (*etcd.Discovery, error) {
	eo := etcd.Options{Endpoints: b.EtcdEndpoints, Prefix: b.EtcdPrefix, Username: b.EtcdUsername,
		Password: b.EtcdPassword, TTL: b.EtcdTTL, Log: log}
	if eo.Prefix == "" {
		eo.Prefix = "/lotou/" + clusterTag(token)
	}
	if eo.TTL == 0 {
		eo.TTL = contract.MissedHeartbeats * heartbeat
	}
	if b.EtcdTLSDir != "" {
		cfg, err := etcd.LoadTLSDir(b.EtcdTLSDir)
		if err != nil {
			return nil, err
		}
		eo.TLS = cfg
	}
	d, err := etcd.New(eo)
	if err != nil {
		return nil, fmt.Errorf("etcd discovery: %w", err)
	}
	return d, nil
}
