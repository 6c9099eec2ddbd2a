package resources

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// MasterPDB builds the master's PodDisruptionBudget from
// spec.master.disruptionPolicy. Allow (default): maxUnavailable 1, so a
// node drain can evict the one master (a budget of minAvailable 1 on one
// replica would block every drain forever); the StatefulSet starts it again
// on another node and the slaves re-register. Block: maxUnavailable 0, a
// drain waits until the user moves the master. Either way an unhealthy
// master may always be evicted (unhealthyPodEvictionPolicy AlwaysAllow):
// protecting a pod that is not serving only blocks maintenance.
func MasterPDB(lc *lotouv1alpha1.LotouCluster) *policyv1.PodDisruptionBudget {
	mu := intstr.FromInt32(1)
	if lc.GetMasterDisruptionPolicy() == lotouv1alpha1.MasterDisruptionBlock {
		mu = intstr.FromInt32(0)
	}
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: objectMeta(lc, MasterName(lc), contract.RoleMaster),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             &mu,
			Selector:                   &metav1.LabelSelector{MatchLabels: SelectorLabels(lc, contract.RoleMaster)},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}

// SlavesPDB builds the PodDisruptionBudget that limits voluntary
// disruptions of slaves to spec.slaves.maxUnavailable.
func SlavesPDB(lc *lotouv1alpha1.LotouCluster) *policyv1.PodDisruptionBudget {
	mu := lc.GetMaxUnavailable()
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: objectMeta(lc, SlavesName(lc), contract.RoleSlave),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             &mu,
			Selector:                   &metav1.LabelSelector{MatchLabels: SelectorLabels(lc, contract.RoleSlave)},
			UnhealthyPodEvictionPolicy: ptr.To(policyv1.AlwaysAllow),
		},
	}
}
