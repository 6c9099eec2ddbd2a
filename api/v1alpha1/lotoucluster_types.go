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
type LotouClusterSpec struct {
	// image is the lotou-node container image run by the master and the slaves,
	// for example "ghcr.io/lotou-io/lotou-node:v0.1.0". Changing it rolls the
	// slaves first and the master after all slaves are ready.
	// +required
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.size() > 0",message="spec.image must not be empty"
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
	Master RoleSpec `json:"master,omitempty"`

	// slaves describes the slave nodes: how many, and how their pods are run.
	// +optional
	// +kubebuilder:default={}
	Slaves SlavesSpec `json:"slaves,omitempty"`

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

	// RoleSpec customises the slave pods.
	RoleSpec `json:",inline"`
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
}

// LotouCluster is a Lotou cluster: one master and N slaves, wired together.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.slaves.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=lc,categories=lotou
// +kubebuilder:printcolumn:name="Master",type=string,JSONPath=`.status.conditions[?(@.type=="MasterReady")].status`,description="Whether the master is ready"
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.spec.slaves.replicas`,description="Desired number of slaves"
// +kubebuilder:printcolumn:name="Ready Slaves",type=integer,JSONPath=`.status.readySlaves`,description="Number of ready slaves"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`,description="Whether the whole cluster is ready"
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
