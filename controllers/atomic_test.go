package controllers

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// TestUpToDateAtomicFields: entries added by hand to the fields an apply
// replaces whole are drift. DeepDerivative took them for server defaults,
// so a key added to the master Service's selector (no endpoints: no slave
// reaches the master) or to the slaves' nodeSelector (pods unschedulable)
// stayed until the spec changed.
func TestUpToDateAtomicFields(t *testing.T) {
	lc := testCluster()
	lc.Spec.Slaves.NodeSelector = map[string]string{"pool": "games"}
	lc.Spec.Slaves.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	sts := resources.SlavesStatefulSet(lc, resources.TokenHash([]byte("t1")))
	bare := resources.MasterStatefulSet(testCluster(), "lotou-node:dev", resources.TokenHash([]byte("t1")))
	svc := resources.MasterService(lc)
	tests := []struct {
		name    string
		desired client.Object
		mutate  func(client.Object)
		want    bool
	}{
		{"service identical", svc, func(client.Object) {}, true},
		{"service selector: key added", svc, func(o client.Object) { o.(*corev1.Service).Spec.Selector["app"] = "elsewhere" }, false},
		{"service selector: value changed", svc, func(o client.Object) {
			for k := range o.(*corev1.Service).Spec.Selector {
				o.(*corev1.Service).Spec.Selector[k] = "x"
			}
		}, false},
		{"statefulset identical", sts, func(client.Object) {}, true},
		{"nodeSelector: key added", sts, func(o client.Object) {
			o.(*appsv1.StatefulSet).Spec.Template.Spec.NodeSelector["zone"] = "nowhere"
		}, false},
		// Where the spec sets none, the operator's apply does not own the
		// field and could not remove it: no apply on every reconcile.
		{"nodeSelector: added where none is asked", bare, func(o client.Object) {
			o.(*appsv1.StatefulSet).Spec.Template.Spec.NodeSelector = map[string]string{"zone": "nowhere"}
		}, true},
		{"nodeSelector: none asked, none live", bare, func(client.Object) {}, true},
		{"tolerations: one appended", sts, func(o client.Object) {
			p := &o.(*appsv1.StatefulSet).Spec.Template.Spec
			p.Tolerations = append(p.Tolerations, corev1.Toleration{Key: "evil", Operator: corev1.TolerationOpExists})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hash := hashOf(t, tt.desired)
			live := tt.desired.DeepCopyObject().(client.Object)
			live.SetAnnotations(map[string]string{AnnotationDesiredHash: hash})
			tt.mutate(live)
			if got := upToDate(tt.desired, live, hash); got != tt.want {
				t.Errorf("upToDate = %v, want %v", got, tt.want)
			}
		})
	}
}
