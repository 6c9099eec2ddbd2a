package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// LotouClusterSpec is the desired state of a Lotou cluster: one master node
// and a number of slave nodes running the same lotou-node image.
//
// +kubebuilder:validation:XValidation:rule="!has(self.port) || !has(self.httpPort) || self.port != self.httpPort",message="spec.port and spec.httpPort must be different ports"
// +kubebuilder:validation:XValidation:rule="!has(self.gate) || !has(self.gate.port) || ((!has(self.port) || self.gate.port != self.port) && (!has(self.httpPort) || self.gate.port != self.httpPort))",message="spec.gate.port must differ from spec.port and spec.httpPort"
type LotouClusterSpec struct {
	// image is the lotou-node container image run by the master and the slaves,
	// for example "ghcr.io/lotou-io/lotou-node:v0.1.0". Changing it rolls the
	// slaves first and the master after all slaves are ready.
	// +required
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.size() > 0",message="spec.image must not be empty"
	// +kubebuilder:validation:XValidation:rule="!self.matches('[[:space:]]')",message="spec.image must not contain whitespace"
	Image string `json:"image"`

	// imagePullPolicy is the pull policy of the lotou-node container.
	// +optional
	// +kubebuilder:default=IfNotPresent
	// +kubebuilder:validation:Enum=Always;Never;IfNotPresent
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// imagePullSecrets are references to Secrets in the same namespace used
	// to pull the image.
	// +optional
	// +listType=atomic
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// port is the TCP port nodes use to talk to each other (LOTOU_LISTEN and
	// LOTOU_ADVERTISE). It must differ from httpPort.
	// +optional
	// +kubebuilder:default=4000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// httpPort is the port of the node's HTTP endpoints: /healthz, /readyz,
	// /metrics and /cluster (LOTOU_HTTP). It must differ from port.
	// +optional
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	HTTPPort int32 `json:"httpPort,omitempty"`

	// services are the names of the built-in services every node starts,
	// passed to the node as LOTOU_SERVICES (comma separated), for example
	// ["echo"].
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9_.-]+$`
	Services []string `json:"services,omitempty"`

	// config holds node settings shared by every node of the cluster.
	// +optional
	// +kubebuilder:default={}
	Config NodeConfig `json:"config,omitempty"`

	// master describes the pod of the single master node.
	// +optional
	// +kubebuilder:default={}
	Master MasterSpec `json:"master,omitempty"`

	// slaves describes the slave nodes: how many, and how their pods are run.
	// +optional
	// +kubebuilder:default={}
	Slaves SlavesSpec `json:"slaves,omitempty"`

	// gate opens the client gateway of the slaves (game clients over TCP and
	// WebSocket) and a Service <name>-gate in front of it.
	// +optional
	Gate *GateSpec `json:"gate,omitempty"`

	// discovery selects how nodes find each other and the global names:
	// through the master (default) or through an etcd cluster the user runs.
	// +optional
	Discovery *DiscoverySpec `json:"discovery,omitempty"`

	// transport selects how messages travel between nodes: direct TCP
	// (default) or through a NATS server the user runs.
	// +optional
	Transport *TransportSpec `json:"transport,omitempty"`

	// networkPolicy controls the NetworkPolicy that limits who reaches the pods.
	// +optional
	// +kubebuilder:default={}
	NetworkPolicy NetworkPolicySpec `json:"networkPolicy,omitempty"`

	// paused stops the operator from changing any object of this cluster.
	// Status is still reported; the Progressing condition says Paused.
	// +optional
	Paused bool `json:"paused,omitempty"`
}

// NodeConfig is the lotou-node configuration shared by all nodes. The
// durations are strings in Go duration syntax; the API server refuses
// values that do not parse or are not positive, since lotou-node exits at
// start with such a value.
//
// +kubebuilder:validation:XValidation:rule="!has(self.heartbeatInterval) || duration(self.heartbeatInterval) > duration('0s')",message="spec.config.heartbeatInterval must be a positive duration such as \"1s\""
// +kubebuilder:validation:XValidation:rule="!has(self.callTimeout) || duration(self.callTimeout) > duration('0s')",message="spec.config.callTimeout must be a positive duration such as \"5s\""
type NodeConfig struct {
	// heartbeatInterval is how often nodes exchange heartbeats
	// (LOTOU_HEARTBEAT_INTERVAL), as a positive Go duration such as "1s".
	// +optional
	// +kubebuilder:default="1s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`
	HeartbeatInterval *metav1.Duration `json:"heartbeatInterval,omitempty"`

	// callTimeout bounds a call that has no deadline of its own
	// (LOTOU_CALL_TIMEOUT), as a positive Go duration such as "5s".
	// +optional
	// +kubebuilder:default="5s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`
	CallTimeout *metav1.Duration `json:"callTimeout,omitempty"`

	// logLevel is the node log verbosity (LOTOU_LOG_LEVEL).
	// +optional
	// +kubebuilder:default=info
	// +kubebuilder:validation:Enum=error;info;debug
	LogLevel string `json:"logLevel,omitempty"`
}

// RoleSpec customises the pods of one role (master or slaves).
type RoleSpec struct {
	// podSecurityContext replaces the pod security context the operator sets
	// by default (runAsNonRoot, user and group 65532, seccomp RuntimeDefault:
	// the restricted Pod Security Standard). Set it whole; it is not merged.
	// +optional
	PodSecurityContext *corev1.PodSecurityContext `json:"podSecurityContext,omitempty"`

	// securityContext replaces the lotou-node container's security context
	// the operator sets by default (no privilege escalation, all
	// capabilities dropped, read-only root filesystem, runAsNonRoot). Set it
	// whole; it is not merged.
	// +optional
	SecurityContext *corev1.SecurityContext `json:"securityContext,omitempty"`

	// resources are the compute resources of the lotou-node container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// nodeSelector constrains the pods to Kubernetes nodes with these labels.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// tolerations let the pods run on tainted Kubernetes nodes.
	// +optional
	// +listType=atomic
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// affinity holds the pods' scheduling constraints.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// env are extra environment variables of the lotou-node container.
	// Variables the operator sets from the node contract (LOTOU_ROLE,
	// LOTOU_MASTER, ...) cannot be overridden and are ignored here.
	// +optional
	// +listType=map
	// +listMapKey=name
	Env []corev1.EnvVar `json:"env,omitempty"`

	// podLabels are extra labels of the pods. Labels the operator uses to
	// select pods cannot be overridden.
	// +optional
	PodLabels map[string]string `json:"podLabels,omitempty"`

	// podAnnotations are extra annotations of the pods. The annotation
	// lotou.io/token-hash is set by the operator (a hash of the cluster
	// token, so a new token restarts every pod) and cannot be overridden.
	// +optional
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`
}

// SlavesSpec describes the slave nodes of the cluster.
//
// +kubebuilder:validation:XValidation:rule="!has(self.replicas) || (self.replicas >= 0 && self.replicas <= 1000)",message="spec.slaves.replicas must be between 0 and 1000"
type SlavesSpec struct {
	// replicas is the number of slave nodes, from 0 to 1000. It is the
	// field changed by `kubectl scale` and by a HorizontalPodAutoscaler.
	// +optional
	// +kubebuilder:default=1
	Replicas *int32 `json:"replicas,omitempty"`

	// maxUnavailable is how many slaves may be down at once, both during a
	// rolling update and for voluntary disruptions (PodDisruptionBudget).
	// A number of at least 1 or a percentage from "1%" to "100%" such as
	// "10%"; a StatefulSet cannot roll with 0 unavailable pods.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:XIntOrString
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self >= 1 : self.matches('^([1-9][0-9]?|100)%$')",message="spec.slaves.maxUnavailable must be a number of at least 1 or a percentage from 1% to 100%"
	MaxUnavailable *intstr.IntOrString `json:"maxUnavailable,omitempty"`

	// drainTimeout is how long a slave being removed (scale-down, rollout,
	// node drain) may take to move its gate clients away and leave the
	// cluster after SIGTERM (LOTOU_DRAIN_TIMEOUT). The pod's
	// terminationGracePeriodSeconds is drainTimeout plus 15 seconds.
	// +optional
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('24h')",message="spec.slaves.drainTimeout must be between 0s and 24h"
	DrainTimeout *metav1.Duration `json:"drainTimeout,omitempty"`

	// RoleSpec customises the slave pods.
	RoleSpec `json:",inline"`
}

// Master disruption policies (spec.master.disruptionPolicy).
const (
	// MasterDisruptionAllow lets a node drain evict the master: its
	// PodDisruptionBudget has maxUnavailable 1, and an unhealthy master can
	// always be evicted. The cluster is without master for the time the
	// StatefulSet needs to start it on another node.
	MasterDisruptionAllow = "Allow"
	// MasterDisruptionBlock forbids voluntary eviction of the master
	// (maxUnavailable 0): a node drain waits until the user moves or
	// deletes the master pod by hand.
	MasterDisruptionBlock = "Block"
)

// MasterSpec describes the master's pod and how it may be disrupted.
type MasterSpec struct {
	// disruptionPolicy is the master's PodDisruptionBudget policy. Allow
	// (default) lets `kubectl drain` evict the master, with
	// unhealthyPodEvictionPolicy AlwaysAllow; Block sets maxUnavailable 0,
	// so drains of the master's node wait until the master is moved by hand.
	// +optional
	// +kubebuilder:default=Allow
	// +kubebuilder:validation:Enum=Allow;Block
	DisruptionPolicy string `json:"disruptionPolicy,omitempty"`

	// RoleSpec customises the master pod.
	RoleSpec `json:",inline"`
}

// Gate Service types (spec.gate.service.type).
const (
	GateServiceClusterIP    = "ClusterIP"
	GateServiceNodePort     = "NodePort"
	GateServiceLoadBalancer = "LoadBalancer"
)

// GateSpec configures the client gateway of the slave nodes.
type GateSpec struct {
	// enabled turns the gate on: slaves listen for game clients on port
	// (LOTOU_GATE) and a Service <name>-gate selects them.
	// +optional
	Enabled bool `json:"enabled,omitempty"`

	// port is the gate's TCP port (TCP framing and WebSocket on the same
	// port). It must differ from spec.port and spec.httpPort.
	// +optional
	// +kubebuilder:default=7000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// service configures the Service <name>-gate in front of the slaves.
	// +optional
	Service GateServiceSpec `json:"service,omitempty"`

	// limits bound what each game client may do on a slave's gate; what is
	// unset keeps the game's own setting, else the gate's default.
	// +optional
	Limits *GateLimitsSpec `json:"limits,omitempty"`
}

// GateLimitsSpec bounds the game clients of each slave's gate (the
// LOTOU_GATE_* variables; docs/protocol.md says what a client that crosses
// a limit receives).
type GateLimitsSpec struct {
	// maxMessageBytes is the largest client message; a larger one closes
	// its client ("too_large"). Gate default: 65536.
	// +optional
	// +kubebuilder:validation:Minimum=64
	// +kubebuilder:validation:Maximum=16777216
	MaxMessageBytes *int32 `json:"maxMessageBytes,omitempty"`

	// messagesPerSecond is each client's sustained message rate; messages
	// above it are dropped with "rate_limited". 0 turns the limit off. Gate
	// default: 50.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000000
	MessagesPerSecond *int32 `json:"messagesPerSecond,omitempty"`

	// burst is how many messages a client may send at once above the rate.
	// Gate default: twice messagesPerSecond.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000000
	Burst *int32 `json:"burst,omitempty"`

	// idleTimeout closes a client silent this long ("idle"); a ping resets
	// it. Gate default: 60s.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]*)?(ns|us|µs|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="spec.gate.limits.idleTimeout must be between 1s and 24h"
	IdleTimeout *metav1.Duration `json:"idleTimeout,omitempty"`

	// maxConnections bounds the clients of each slave; one more is refused
	// ("full"). Gate default: 20000.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000000
	MaxConnections *int32 `json:"maxConnections,omitempty"`

	// queueMessages bounds the messages waiting for one client; a client
	// that lets more wait is disconnected ("slow_consumer"). Gate default:
	// 256.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1048576
	QueueMessages *int32 `json:"queueMessages,omitempty"`
}

// GateServiceSpec configures the Service in front of the gates.
type GateServiceSpec struct {
	// type is the Service type: ClusterIP (default), NodePort or LoadBalancer.
	// +optional
	// +kubebuilder:default=ClusterIP
	// +kubebuilder:validation:Enum=ClusterIP;NodePort;LoadBalancer
	Type string `json:"type,omitempty"`

	// annotations are put on the Service, for example a cloud load
	// balancer's settings.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Discovery backends (spec.discovery.type).
const (
	DiscoveryMaster = "master"
	DiscoveryEtcd   = "etcd"
)

// DiscoverySpec selects the discovery backend.
//
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'etcd' || (has(self.etcd) && has(self.etcd.endpoints) && size(self.etcd.endpoints) > 0)",message="spec.discovery.etcd.endpoints is required when spec.discovery.type is etcd"
type DiscoverySpec struct {
	// type is master (the master's registry, default) or etcd.
	// +optional
	// +kubebuilder:default=master
	// +kubebuilder:validation:Enum=master;etcd
	Type string `json:"type,omitempty"`

	// etcd is the etcd cluster used when type is etcd. The operator does not
	// run it.
	// +optional
	Etcd *EtcdSpec `json:"etcd,omitempty"`
}

// EtcdSpec locates an etcd cluster and its credentials.
type EtcdSpec struct {
	// endpoints are the etcd client URLs (LOTOU_ETCD_ENDPOINTS), for example
	// "http://etcd.infra.svc:2379".
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=256
	Endpoints []string `json:"endpoints,omitempty"`

	// secretRef names a Secret in the same namespace with the keys
	// "username" and "password" (LOTOU_ETCD_USERNAME, LOTOU_ETCD_PASSWORD).
	// +optional
	SecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`

	// tlsSecretRef names a Secret in the same namespace with client TLS
	// files (for example ca.crt, tls.crt, tls.key), mounted under
	// /etc/lotou/etcd-tls (LOTOU_ETCD_TLS_DIR).
	// +optional
	TLSSecretRef *corev1.LocalObjectReference `json:"tlsSecretRef,omitempty"`
}

// Transport backends (spec.transport.type).
const (
	TransportTCP  = "tcp"
	TransportNATS = "nats"
)

// TransportSpec selects the node-to-node delivery backend.
//
// +kubebuilder:validation:XValidation:rule="!has(self.type) || self.type != 'nats' || (has(self.nats) && has(self.nats.url) && size(self.nats.url) > 0)",message="spec.transport.nats.url is required when spec.transport.type is nats"
type TransportSpec struct {
	// type is tcp (direct connections, default) or nats.
	// +optional
	// +kubebuilder:default=tcp
	// +kubebuilder:validation:Enum=tcp;nats
	Type string `json:"type,omitempty"`

	// nats is the NATS server used when type is nats. The operator does not
	// run it.
	// +optional
	NATS *NATSSpec `json:"nats,omitempty"`
}

// NATSSpec locates a NATS server and its credentials.
type NATSSpec struct {
	// url is the NATS server URL (LOTOU_NATS_URL), for example
	// "nats://nats.infra.svc:4222".
	// +optional
	// +kubebuilder:validation:MaxLength=512
	URL string `json:"url,omitempty"`

	// secretRef names a Secret in the same namespace holding either a key
	// "creds" (a NATS credentials file, mounted and passed as
	// LOTOU_NATS_CREDS) or a key "token" (LOTOU_NATS_TOKEN). Both keys are
	// optional in the Secret; the node uses what is present.
	// +optional
	SecretRef *corev1.LocalObjectReference `json:"secretRef,omitempty"`
}

// LotouClusterStatus is the observed state of a Lotou cluster.
type LotouClusterStatus struct {
	// observedGeneration is the metadata.generation this status was computed for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions are the latest observations of the cluster: Ready,
	// Progressing, Degraded, MasterReady and SlavesReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// replicas is the number of slave pods that exist (scale subresource).
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// readySlaves is the number of slave pods that are ready, that is
	// registered with the master.
	// +optional
	ReadySlaves int32 `json:"readySlaves,omitempty"`

	// sessions is the number of game client sessions connected to the
	// gates of all nodes, as the master reports them.
	// +optional
	Sessions int64 `json:"sessions,omitempty"`

	// selector is the label selector of the slave pods in string form, used
	// by the scale subresource and by HorizontalPodAutoscalers.
	// +optional
	Selector string `json:"selector,omitempty"`

	// masterEndpoint is the host:port slaves use to reach the master.
	// +optional
	MasterEndpoint string `json:"masterEndpoint,omitempty"`

	// registeredNodes are the nodes as the master sees them, read from its
	// /cluster endpoint.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=1024
	RegisteredNodes []RegisteredNode `json:"registeredNodes,omitempty"`

	// membership says when registeredNodes and globalServices were last read.
	// +optional
	Membership *MembershipStatus `json:"membership,omitempty"`

	// globalServices are the global service names registered in the
	// cluster, as the master sees them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=4096
	GlobalServices []string `json:"globalServices,omitempty"`
}

// RegisteredNode is one node of the cluster as the master sees it.
type RegisteredNode struct {
	// name is the node name (the pod name).
	// +required
	Name string `json:"name"`
	// role is master or slave.
	// +optional
	Role string `json:"role,omitempty"`
	// address is the host:port the node advertises.
	// +optional
	Address string `json:"address,omitempty"`
	// up tells whether the master currently hears the node's heartbeats.
	// +optional
	Up bool `json:"up,omitempty"`
	// sessions is the number of game client sessions on the node's gate.
	// +optional
	Sessions int64 `json:"sessions,omitempty"`
}

// LotouCluster is a Lotou cluster: one master and N slaves, wired together.
// Its name names the children (<name>-master, <name>-slaves-0, ...), so it
// must be valid where they are: a Service name is a DNS-1035 label, and every
// pod of a StatefulSet carries the label controller-revision-hash =
// <name>-slaves-<hash of up to 10 characters>, at most 63 characters.
//
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 45",message="metadata.name must be at most 45 characters: the pods' controller-revision-hash label holds <name>-slaves-<10-character hash>, at most 63"
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must start with a letter and hold only lower-case letters, digits and '-' (it names the cluster's Services, which must be DNS-1035 labels)"
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.slaves.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=lc,categories=lotou
// +kubebuilder:printcolumn:name="Master",type=string,JSONPath=`.status.conditions[?(@.type=="MasterReady")].status`,description="Whether the master is ready"
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.slaves.replicas`,description="Desired number of slaves"
// +kubebuilder:printcolumn:name="Ready Slaves",type=integer,JSONPath=`.status.readySlaves`,description="Number of ready slaves"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,description="Whether the whole cluster is ready"
// +kubebuilder:printcolumn:name="Sessions",type=integer,JSONPath=`.status.sessions`,description="Game client sessions on the gates"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type LotouCluster struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is the standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the desired state of the cluster.
	// +required
	Spec LotouClusterSpec `json:"spec"`

	// status is the observed state of the cluster.
	// +optional
	Status LotouClusterStatus `json:"status,omitempty"`
}

// LotouClusterList is a list of LotouClusters.
//
// +kubebuilder:object:root=true
type LotouClusterList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list metadata.
	metav1.ListMeta `json:"metadata,omitempty"`
	// items are the LotouClusters of the list.
	Items []LotouCluster `json:"items"`
}
