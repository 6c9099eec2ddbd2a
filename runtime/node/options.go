package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/transport"
)

// Built-in services that Options.Services may name.
var builtinServices = []string{contract.EchoService}

// Options configure a Node. Validate fills defaults and checks them.
type Options struct {
	// Role is contract.RoleMaster, RoleSlave or RoleStandalone.
	Role string
	// Name is the node name (required; lotou-node defaults it to the hostname).
	Name string
	// Listen is the cluster TCP address (":4000").
	Listen string
	// Advertise is the host:port peers dial; default: the listen address.
	Advertise string
	// Master is the master's host:port; required for slaves.
	Master string
	// Token is the shared cluster secret; required unless standalone.
	Token []byte
	// HTTP is the address of the HTTP endpoints (":8080"); "-" disables them.
	HTTP string
	// Pprof also serves Go's profiles under /debug/pprof/ on the HTTP
	// address (off by default: they cost CPU and reveal the program).
	Pprof bool
	// Services lists built-in services to start (see contract.EchoService).
	Services []string
	// Heartbeat is the heartbeat interval (contract.DefaultHeartbeatInterval).
	Heartbeat time.Duration
	// CallTimeout bounds calls without a deadline (contract.DefaultCallTimeout).
	CallTimeout time.Duration
	// DrainTimeout bounds a graceful leave (10s): draining the mailboxes,
	// running stop hooks, writing the replies. See runtime/core/doc.go.
	DrainTimeout time.Duration
	// TLSCert, TLSKey and TLSCA enable TLS between nodes when set.
	TLSCert, TLSKey, TLSCA string
	// Encrypt encrypts every frame between nodes after the handshake, with
	// keys from the Noise handshake (off by default; see docs/security.md).
	Encrypt bool
	// Codec holds user types sent across nodes; default: a registry with the
	// core's named types.
	Codec *codec.Registry
	// Log receives the node's logs (default: discard).
	Log logr.Logger
	// LogDropped, if set, reports the log lines dropped by the node's log
	// sink (logsink.Sink.Dropped); /metrics exposes it as
	// lotou_log_dropped_total.
	LogDropped func() uint64
	// Start, if set, starts the application's own services on the node's
	// core. It runs after the built-in services and before the node reports
	// ready (/readyz); an error aborts Run, which returns it wrapped. ctx is
	// Run's ctx: services it spawns stop with the node.
	Start func(ctx context.Context, c *core.Core) error
	// Collectors are served on /metrics beside the node's own (the gate's
	// lotou_gate_* counters).
	Collectors []prometheus.Collector
	// Draining, if set and true, makes /readyz answer 503: the gate is
	// moving its clients away, so load balancers should send no new ones.
	Draining func() bool
	// Backends choose discovery (master, etcd) and delivery (tcp, nats).
	Backends Backends

	tls *tls.Config
}

// Validate applies defaults and reports every problem at once.
func (o *Options) Validate() error {
	o.setDefaults()
	errs := o.checkIdentity()
	errs = append(errs, o.checkAddresses()...)
	errs = append(errs, o.Backends.check(o.Role)...)
	if o.Role != contract.RoleStandalone && len(o.Token) == 0 {
		errs = append(errs, fmt.Errorf("a cluster token is required (%s or %s)", contract.EnvClusterToken, contract.EnvTokenFile))
	}
	if o.Heartbeat < 0 || o.CallTimeout < 0 {
		errs = append(errs, errors.New("heartbeat interval and call timeout must be positive"))
	}
	for _, s := range o.Services {
		if !slices.Contains(builtinServices, s) {
			errs = append(errs, fmt.Errorf("unknown service %q (built-in: %s)", s, strings.Join(builtinServices, ", ")))
		}
	}
	if o.TLSCert != "" || o.TLSKey != "" || o.TLSCA != "" {
		cfg, err := transport.LoadTLS(o.TLSCert, o.TLSKey, o.TLSCA)
		if err != nil {
			errs = append(errs, err)
		}
		o.tls = cfg
	}
	return errors.Join(errs...)
}

func (o *Options) setDefaults() {
	if o.Role == "" {
		o.Role = contract.RoleStandalone
	}
	if o.Listen == "" {
		o.Listen = fmt.Sprintf(":%d", contract.DefaultPort)
	}
	if o.HTTP == "" {
		o.HTTP = fmt.Sprintf(":%d", contract.DefaultHTTPPort)
	}
	if o.Heartbeat == 0 {
		o.Heartbeat = contract.DefaultHeartbeatInterval
	}
	if o.CallTimeout == 0 {
		o.CallTimeout = contract.DefaultCallTimeout
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Second
	}
	if o.Log.GetSink() == nil {
		o.Log = logr.Discard()
	}
}

func (o *Options) checkIdentity() []error {
	var errs []error
	switch o.Role {
	case contract.RoleMaster, contract.RoleSlave, contract.RoleStandalone:
	default:
		errs = append(errs, fmt.Errorf("role %q: want %s, %s or %s", o.Role, contract.RoleMaster, contract.RoleSlave, contract.RoleStandalone))
	}
	if o.Name == "" {
		errs = append(errs, errors.New("name is required"))
	} else if len(o.Name) > transport.MaxNameLen || strings.ContainsAny(o.Name, " \t\n") {
		errs = append(errs, fmt.Errorf("name %q: at most %d bytes, no spaces", o.Name, transport.MaxNameLen))
	}
	return errs
}

func (o *Options) checkAddresses() []error {
	var errs []error
	if o.Role == contract.RoleSlave && o.Master == "" && o.Backends.needsMaster() {
		errs = append(errs, fmt.Errorf("a slave needs the master address (%s)", contract.EnvMaster))
	}
	if o.Master != "" {
		if _, _, err := net.SplitHostPort(o.Master); err != nil {
			errs = append(errs, fmt.Errorf("master address %q: %w", o.Master, err))
		}
	}
	for what, addr := range map[string]string{"listen": o.Listen, "advertise": o.Advertise} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s address %q: %w", what, addr, err))
		}
	}
	return errs
}
