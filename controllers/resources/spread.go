package resources

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// Topology keys the slaves are spread over.
const (
	TopologyHostname = "kubernetes.io/hostname"
	TopologyZone     = "topology.kubernetes.io/zone"
)

// spreadSlaves spreads the slave pods across Kubernetes nodes and zones by
// default, so one node or zone going down takes as few slaves as possible:
// soft topology spread constraints (ScheduleAnyway: a one-node cluster
// still schedules every slave) and, unless spec.slaves.affinity already
// says something about pod anti-affinity, a preferred anti-affinity to
// other slaves of the cluster on the same node.
func spreadSlaves(lc *lotouv1alpha1.LotouCluster, spec *corev1.PodSpec) {
	sel := &metav1.LabelSelector{MatchLabels: SelectorLabels(lc, contract.RoleSlave)}
	for _, key := range []string{TopologyHostname, TopologyZone} {
		spec.TopologySpreadConstraints = append(spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew:           1,
			TopologyKey:       key,
			WhenUnsatisfiable: corev1.ScheduleAnyway,
			LabelSelector:     sel.DeepCopy(),
		})
	}
	if spec.Affinity != nil && spec.Affinity.PodAntiAffinity != nil {
		return // the user's anti-affinity wins
	}
	aff := &corev1.Affinity{}
	if spec.Affinity != nil {
		aff = spec.Affinity.DeepCopy() // never modify the LotouCluster's spec
	}
	aff.PodAntiAffinity = &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				LabelSelector: sel.DeepCopy(),
				TopologyKey:   TopologyHostname,
			},
		}},
	}
	spec.Affinity = aff
}
