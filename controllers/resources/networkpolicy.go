package resources

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// OperatorPodLabels select the operator's pods when
// spec.networkPolicy.operator is empty: the label config/manager and the
// Helm chart put on the manager's pods.
func OperatorPodLabels() map[string]string { return map[string]string{LabelName: "lotou-operator"} }

// NetworkPolicyName is the name of the NetworkPolicy in front of the
// cluster's pods.
func NetworkPolicyName(lc *lotouv1alpha1.LotouCluster) string { return lc.Name + "-nodes" }

// NetworkPolicy builds the ingress policy of every pod of the cluster: the
// cluster port (spec.port) admits only the cluster's own pods, the HTTP port
// (spec.httpPort) only the operator (it reads /cluster) and the peers in
// spec.networkPolicy.scrapers; everything else is refused. Kubelet probes
// come from the node itself and are not subject to the policy.
func NetworkPolicy(lc *lotouv1alpha1.LotouCluster) *networkingv1.NetworkPolicy {
	tcp := corev1.ProtocolTCP
	port := func(p int32) []networkingv1.NetworkPolicyPort {
		v := intstr.FromInt32(p)
		return []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &v}}
	}
	operator := networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{},
		PodSelector:       &metav1.LabelSelector{MatchLabels: OperatorPodLabels()},
	}
	if op := lc.Spec.NetworkPolicy.Operator; op != nil {
		operator = *op.DeepCopy()
	}
	httpFrom := []networkingv1.NetworkPolicyPeer{operator}
	for i := range lc.Spec.NetworkPolicy.Scrapers {
		httpFrom = append(httpFrom, *lc.Spec.NetworkPolicy.Scrapers[i].DeepCopy())
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objectMeta(lc, NetworkPolicyName(lc), ""),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: ClusterSelectorLabels(lc)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{
					Ports: port(lc.GetPort()),
					From: []networkingv1.NetworkPolicyPeer{{
						PodSelector: &metav1.LabelSelector{MatchLabels: ClusterSelectorLabels(lc)},
					}},
				},
				{Ports: port(lc.GetHTTPPort()), From: httpFrom},
			},
		},
	}
}
