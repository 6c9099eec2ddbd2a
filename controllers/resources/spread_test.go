package resources

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/lotou-io/lotou/runtime/contract"
)

func TestSlaveSpread(t *testing.T) {
	userNodeAffinity := &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "pool", Operator: corev1.NodeSelectorOpIn, Values: []string{"games"}}},
		}}},
	}}
	userAnti := &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{TopologyKey: TopologyZone}},
	}}
	tests := []struct {
		name          string
		affinity      *corev1.Affinity
		wantPreferred bool
		wantNodeAff   bool
		wantRequired  bool
	}{
		{"default", nil, true, false, false},
		{"user node affinity kept", userNodeAffinity, true, true, false},
		{"user anti-affinity wins", userAnti, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc := newCluster()
			lc.Spec.Slaves.Affinity = tt.affinity.DeepCopy()
			before := lc.Spec.Slaves.Affinity.DeepCopy()
			spec := SlavesStatefulSet(lc, "").Spec.Template.Spec
			slave := labels.Set(Labels(lc, contract.RoleSlave))
			keys := map[string]bool{}
			for _, c := range spec.TopologySpreadConstraints {
				sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
				if err != nil || !sel.Matches(slave) || c.WhenUnsatisfiable != corev1.ScheduleAnyway || c.MaxSkew != 1 {
					t.Errorf("constraint %+v: want a soft skew-1 spread of this cluster's slaves", c)
				}
				keys[c.TopologyKey] = true
			}
			if !keys[TopologyHostname] || !keys[TopologyZone] {
				t.Errorf("spread over %v, want hostname and zone", keys)
			}
			aff := spec.Affinity
			gotPreferred := aff != nil && aff.PodAntiAffinity != nil && len(aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 1
			if gotPreferred != tt.wantPreferred {
				t.Errorf("preferred anti-affinity = %v, want %v", gotPreferred, tt.wantPreferred)
			}
			if gotPreferred {
				term := aff.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
				sel, _ := metav1.LabelSelectorAsSelector(term.LabelSelector)
				if term.TopologyKey != TopologyHostname || !sel.Matches(slave) || sel.Matches(labels.Set(Labels(lc, contract.RoleMaster))) {
					t.Errorf("anti-affinity term %+v: want this cluster's slaves per node", term)
				}
			}
			if got := aff != nil && aff.NodeAffinity != nil; got != tt.wantNodeAff {
				t.Errorf("node affinity kept = %v, want %v", got, tt.wantNodeAff)
			}
			if got := aff != nil && aff.PodAntiAffinity != nil && len(aff.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0; got != tt.wantRequired {
				t.Errorf("user's required anti-affinity kept = %v, want %v", got, tt.wantRequired)
			}
			if (before == nil) != (lc.Spec.Slaves.Affinity == nil) || before != nil && before.PodAntiAffinity == nil && lc.Spec.Slaves.Affinity.PodAntiAffinity != nil {
				t.Error("the builder modified spec.slaves.affinity")
			}
		})
	}
	master := MasterStatefulSet(newCluster(), "", "").Spec.Template.Spec
	if len(master.TopologySpreadConstraints) != 0 || master.Affinity != nil {
		t.Error("the single master got a slave spread")
	}
}
