package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// peer is a simplified source of traffic for the policy evaluator below.
type peer struct {
	nsLabels, podLabels map[string]string
	sameNamespace       bool
}

// admits evaluates the policy the way a CNI plugin does for a pod of the
// policy's namespace: is traffic from p to port allowed?
func admits(np *networkingv1.NetworkPolicy, p peer, port int32) bool {
	for _, rule := range np.Spec.Ingress {
		portOK := len(rule.Ports) == 0
		for _, rp := range rule.Ports {
			if rp.Port != nil && rp.Port.IntVal == port && (rp.Protocol == nil || *rp.Protocol == corev1.ProtocolTCP) {
				portOK = true
			}
		}
		if !portOK {
			continue
		}
		for _, f := range rule.From {
			nsOK := p.sameNamespace
			if f.NamespaceSelector != nil {
				sel, err := metav1.LabelSelectorAsSelector(f.NamespaceSelector)
				nsOK = err == nil && sel.Matches(labels.Set(p.nsLabels))
			}
			podOK := true
			if f.PodSelector != nil {
				sel, err := metav1.LabelSelectorAsSelector(f.PodSelector)
				podOK = err == nil && sel.Matches(labels.Set(p.podLabels))
			}
			if nsOK && podOK {
				return true
			}
		}
	}
	return false
}

func TestNetworkPolicy(t *testing.T) {
	prom := networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}}
	withScraper := newCluster()
	withScraper.Spec.NetworkPolicy.Scrapers = []networkingv1.NetworkPolicyPeer{prom}
	customOp := newCluster()
	customOp.Spec.NetworkPolicy.Operator = &networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "ops"}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "my-operator"}},
	}
	ports := newCluster()
	ports.Spec.Port, ports.Spec.HTTPPort = 7000, 9090

	self := peer{sameNamespace: true, podLabels: map[string]string{contract.LabelCluster: "demo", contract.LabelRole: contract.RoleSlave}}
	other := peer{sameNamespace: true, podLabels: map[string]string{contract.LabelCluster: "other"}}
	operator := peer{nsLabels: map[string]string{"kubernetes.io/metadata.name": "lotou-system"}, podLabels: OperatorPodLabels()}
	promPod := peer{nsLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}, podLabels: map[string]string{"app": "prometheus"}}
	myOp := peer{nsLabels: map[string]string{"kubernetes.io/metadata.name": "ops"}, podLabels: map[string]string{"app": "my-operator"}}
	tests := []struct {
		name string
		lc   *lotouv1alpha1.LotouCluster
		from peer
		port int32
		want bool
	}{
		{"own pod to cluster port", newCluster(), self, 4000, true},
		{"own pod to http", newCluster(), self, 8080, false},
		{"other cluster to cluster port", newCluster(), other, 4000, false},
		{"operator to http", newCluster(), operator, 8080, true},
		{"operator to cluster port", newCluster(), operator, 4000, false},
		{"prometheus without scrapers", newCluster(), promPod, 8080, false},
		{"prometheus as scraper to http", withScraper, promPod, 8080, true},
		{"prometheus as scraper to cluster port", withScraper, promPod, 4000, false},
		{"default operator with a custom operator peer", customOp, operator, 8080, false},
		{"custom operator peer", customOp, myOp, 8080, true},
		{"custom ports: own pod", ports, self, 7000, true},
		{"custom ports: old cluster port", ports, self, 4000, false},
		{"custom ports: operator", ports, operator, 9090, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			np := NetworkPolicy(tt.lc)
			if got := admits(np, tt.from, tt.port); got != tt.want {
				t.Errorf("admits(%+v, %d) = %v, want %v", tt.from, tt.port, got, tt.want)
			}
		})
	}
}

func TestNetworkPolicyObject(t *testing.T) {
	lc := newCluster()
	np := NetworkPolicy(lc)
	if np.Name != "demo-nodes" || np.Namespace != "games" {
		t.Errorf("name = %s/%s", np.Namespace, np.Name)
	}
	if len(np.OwnerReferences) != 1 || !ptr.Deref(np.OwnerReferences[0].Controller, false) {
		t.Errorf("owner references = %+v", np.OwnerReferences)
	}
	if np.Labels[LabelManagedBy] != ManagedBy {
		t.Errorf("labels = %v: the cache only sees objects labelled managed-by", np.Labels)
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []string{contract.RoleMaster, contract.RoleSlave} {
		if !sel.Matches(labels.Set(Labels(lc, role))) {
			t.Errorf("pod selector %s misses %s pods", sel, role)
		}
	}
	if len(np.Spec.PolicyTypes) != 1 || np.Spec.PolicyTypes[0] != networkingv1.PolicyTypeIngress {
		t.Errorf("policy types = %v, want Ingress only", np.Spec.PolicyTypes)
	}
	// The builder must not alias the spec: mutating the output leaves lc alone.
	lc.Spec.NetworkPolicy.Scrapers = []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}
	np = NetworkPolicy(lc)
	np.Spec.Ingress[1].From[1].PodSelector.MatchLabels = map[string]string{"x": "y"}
	if lc.Spec.NetworkPolicy.Scrapers[0].PodSelector.MatchLabels != nil {
		t.Error("NetworkPolicy aliases spec.networkPolicy.scrapers")
	}
}
