package resources

import (
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// MasterPDB builds the PodDisruptionBudget that protects the single master
// from voluntary eviction: losing it stops the whole cluster.
func MasterPDB(lc *lotouv1alpha1.LotouCluster) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: objectMeta(lc, MasterName(lc), contract.RoleMaster),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MinAvailable: &one,
			Selector:     &metav1.LabelSelector{MatchLabels: SelectorLabels(lc, contract.RoleMaster)},
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
			MaxUnavailable: &mu,
			Selector:       &metav1.LabelSelector{MatchLabels: SelectorLabels(lc, contract.RoleSlave)},
		},
	}
}
