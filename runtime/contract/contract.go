package contract

import "time"

// Environment variables read by lotou-node. Each flag of lotou-node falls back
// to one of these when the flag is not given on the command line.
const (
	// EnvRole selects the node role: master, slave or standalone.
	EnvRole = "LOTOU_ROLE"
	// EnvNodeName is the node's name; the operator sets it to the pod name.
	EnvNodeName = "LOTOU_NODE_NAME"
	// EnvListen is the TCP address the node listens on for cluster traffic.
	EnvListen = "LOTOU_LISTEN"
	// EnvAdvertise is the host:port other nodes use to reach this node.
	EnvAdvertise = "LOTOU_ADVERTISE"
	// EnvMaster is the master's host:port, required for slaves.
	EnvMaster = "LOTOU_MASTER"
	// EnvClusterToken is the shared secret every node proves in the handshake.
	EnvClusterToken = "LOTOU_CLUSTER_TOKEN" //nolint:gosec // G101: the name of a variable, not a credential
	// EnvTokenFile names a file holding the cluster token (alternative to EnvClusterToken).
	EnvTokenFile = "LOTOU_TOKEN_FILE" //nolint:gosec // G101: the name of a variable, not a credential
	// EnvHTTP is the address of the health, readiness, metrics and /cluster endpoints.
	EnvHTTP = "LOTOU_HTTP"
	// EnvServices is a comma-separated list of built-in services to start.
	EnvServices = "LOTOU_SERVICES"
	// EnvLogLevel is the log verbosity: error, info or debug.
	EnvLogLevel = "LOTOU_LOG_LEVEL"
	// EnvHeartbeatInterval is how often nodes exchange heartbeats (Go duration).
	EnvHeartbeatInterval = "LOTOU_HEARTBEAT_INTERVAL"
	// EnvCallTimeout is the default deadline of a Call without its own (Go duration).
	EnvCallTimeout = "LOTOU_CALL_TIMEOUT"
	// EnvConfig names an optional YAML file with the same keys as the flags.
	EnvConfig = "LOTOU_CONFIG"
	// EnvGate is the game-client gate's listen address (":7000"); empty: no gate.
	EnvGate = "LOTOU_GATE"
	// EnvGateAuth selects the gate's default client check: "ticket" (HMAC
	// tickets under the cluster token) or "name" (any name: demos only).
	EnvGateAuth = "LOTOU_GATE_AUTH"
	// EnvDrainTimeout bounds how long a stopping node waits for its gate's
	// clients to move (Go duration).
	EnvDrainTimeout = "LOTOU_DRAIN_TIMEOUT"
	// The gate's limits (unset: the program's gate.Options, else the gate's
	// defaults): the largest client message in bytes, each client's
	// sustained messages per second ("off": no limit) and burst, the idle
	// timeout (Go duration), the node's client connections and each client's
	// outbound queue in messages.
	EnvGateMaxMessage  = "LOTOU_GATE_MAX_MESSAGE"
	EnvGateRate        = "LOTOU_GATE_RATE"
	EnvGateBurst       = "LOTOU_GATE_BURST"
	EnvGateIdleTimeout = "LOTOU_GATE_IDLE_TIMEOUT"
	EnvGateMaxConns    = "LOTOU_GATE_MAX_CONNS"
	EnvGateQueue       = "LOTOU_GATE_QUEUE"
	// EnvEncrypt ("true"/"false") encrypts every frame between nodes after
	// the handshake.
	EnvEncrypt = "LOTOU_ENCRYPT"
	// EnvPprof ("true"/"false") serves Go's profiles under PathPprof on the
	// HTTP port.
	EnvPprof = "LOTOU_PPROF"
)

// Roles a node can take.
const (
	RoleMaster     = "master"
	RoleSlave      = "slave"
	RoleStandalone = "standalone"
)

// Defaults shared by lotou-node and the operator.
const (
	// DefaultPort is the cluster (node-to-node) TCP port.
	DefaultPort = 4000
	// DefaultHTTPPort is the port of the HTTP endpoints.
	DefaultHTTPPort = 8080
	// DefaultHeartbeatInterval is the heartbeat period between nodes.
	DefaultHeartbeatInterval = time.Second
	// DefaultCallTimeout bounds a Call that has no deadline of its own.
	DefaultCallTimeout = 5 * time.Second
	// DefaultLogLevel is the log level when none is given.
	DefaultLogLevel = "info"
	// MissedHeartbeats is how many heartbeat intervals of silence mark a node down.
	MissedHeartbeats = 3
	// DefaultGatePort is the port of the game-client gate (TCP and WebSocket).
	DefaultGatePort = 7000
	// DefaultDrainTimeout bounds the wait for gate clients to move on SIGTERM.
	DefaultDrainTimeout = 60 * time.Second
)

// GateService is the prefix of the global name each node's gate registers
// (GateName); it answers "sessions" with the node's connected clients, which
// the master's /cluster reports per node.
const GateService = "gate"

// GateName is the global name the gate of the given node registers.
func GateName(nodeName string) string { return GateService + ":" + nodeName }

// HTTP paths served by lotou-node on its HTTP address.
const (
	PathHealthz = "/healthz"
	PathReadyz  = "/readyz"
	PathMetrics = "/metrics"
	PathCluster = "/cluster"
	// PathPprof is the prefix of Go's profiles when enabled (EnvPprof).
	PathPprof = "/debug/pprof/"
)

// Label keys put on every object the operator makes for a LotouCluster.
const (
	// LabelRole is master or slave on pods and their controllers.
	LabelRole = "lotou.io/role"
	// LabelCluster is the LotouCluster's name.
	LabelCluster = "lotou.io/cluster"
)

// EchoService is the name of the built-in example service; it registers the
// global name EchoName(nodeName) and answers the command "echo".
const EchoService = "echo"

// EchoName is the global name the echo service of the given node registers.
func EchoName(nodeName string) string { return EchoService + ":" + nodeName }

// ClusterView is the JSON document served on PathCluster: the cluster as this
// node sees it. The operator reads it from the master to fill the
// LotouCluster's membership status.
type ClusterView struct {
	// Self is the name of the node that served this view.
	Self string `json:"self"`
	// Role is the role of the node that served this view.
	Role string `json:"role"`
	// Nodes are the nodes this node knows of, itself included.
	Nodes []NodeInfo `json:"nodes"`
	// Globals are the global service names this node knows of.
	Globals []GlobalName `json:"globals"`
}

// NodeInfo describes one node of a ClusterView.
type NodeInfo struct {
	ID   uint16 `json:"id"`
	Name string `json:"name"`
	Addr string `json:"addr"`
	Role string `json:"role"`
	Up   bool   `json:"up"`
	// Sessions are the game clients connected to the node's gate (0 without a gate).
	Sessions int `json:"sessions"`
}

// GlobalName is one entry of the global name table.
type GlobalName struct {
	Name string `json:"name"`
	ID   uint64 `json:"id"`
}

// Optional backends (issue 14): discovery through etcd instead of the master
// registry, delivery through NATS instead of direct TCP links.
const (
	// EnvDiscovery selects the discovery backend: DiscoveryMaster or DiscoveryEtcd.
	EnvDiscovery = "LOTOU_DISCOVERY"
	// EnvEtcdEndpoints is a comma-separated list of etcd client URLs.
	EnvEtcdEndpoints = "LOTOU_ETCD_ENDPOINTS"
	// EnvEtcdUsername and EnvEtcdPassword authenticate to etcd.
	EnvEtcdUsername = "LOTOU_ETCD_USERNAME"
	EnvEtcdPassword = "LOTOU_ETCD_PASSWORD" //nolint:gosec // G101: the name of a variable, not a credential
	// EnvEtcdTLSDir is a directory holding ca.crt, tls.crt and tls.key for etcd client TLS.
	EnvEtcdTLSDir = "LOTOU_ETCD_TLS_DIR"
	// EnvEtcdPrefix overrides the cluster's etcd key prefix (default: derived from the cluster token).
	EnvEtcdPrefix = "LOTOU_ETCD_PREFIX"
	// EnvTransport selects the delivery backend: TransportTCP or TransportNATS.
	EnvTransport = "LOTOU_TRANSPORT"
	// EnvNATSURL is the NATS server URL.
	EnvNATSURL = "LOTOU_NATS_URL"
	// EnvNATSCreds is the path of a NATS user credentials (.creds) file.
	EnvNATSCreds = "LOTOU_NATS_CREDS" //nolint:gosec // G101: the name of a variable, not a credential
	// EnvNATSToken is a NATS authentication token.
	EnvNATSToken = "LOTOU_NATS_TOKEN" //nolint:gosec // G101: the name of a variable, not a credential
	// EnvNATSTLSDir is a directory holding ca.crt, tls.crt and tls.key for NATS client TLS.
	EnvNATSTLSDir = "LOTOU_NATS_TLS_DIR"
	// EnvNATSPrefix overrides the cluster's NATS subject prefix (default: derived from the cluster token).
	EnvNATSPrefix = "LOTOU_NATS_PREFIX"
)

// Backend names for EnvDiscovery and EnvTransport.
const (
	DiscoveryMaster = "master"
	DiscoveryEtcd   = "etcd"
	TransportTCP    = "tcp"
	TransportNATS   = "nats"
)
