package v1alpha1

import (
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NetworkPolicySpec controls the NetworkPolicy the operator keeps in front of
// the cluster's pods. With it, the cluster port (spec.port) admits only the
// cluster's own pods, and the HTTP port (spec.httpPort: /cluster, /metrics,
// probes) admits only the operator and the configured scrapers.
type NetworkPolicySpec struct {
	// enabled makes the operator keep a NetworkPolicy named <name>-nodes for
	// this cluster. Turning it off deletes that policy.
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`

	// operator selects the operator's pods, which read each master's
	// /cluster endpoint. Empty means pods labelled
	// app.kubernetes.io/name=lotou-operator in any namespace.
	// +optional
	Operator *networkingv1.NetworkPolicyPeer `json:"operator,omitempty"`

	// scrapers are the peers allowed to reach the HTTP port besides the
	// operator, for example Prometheus:
	// {namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	Scrapers []networkingv1.NetworkPolicyPeer `json:"scrapers,omitempty"`
}

// MembershipStatus says how fresh status.registeredNodes and
// status.globalServices are.
type MembershipStatus struct {
	// lastReadTime is when the operator last read the master's /cluster
	// endpoint successfully. While reads succeed it is refreshed when the
	// membership changes and at least every five minutes, so an older time
	// means the membership shown is stale.
	// +optional
	LastReadTime *metav1.Time `json:"lastReadTime,omitempty"`
}

// NetworkPolicyEnabled tells whether the operator manages a NetworkPolicy
// for the cluster: spec.networkPolicy.enabled, default true.
func (c *LotouCluster) NetworkPolicyEnabled() bool {
	e := c.Spec.NetworkPolicy.Enabled
	return e == nil || *e
}
