package controllers

import (
	"context"
	"testing"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

// TestApplyFailureIsReportedAsDegraded gives a paused cluster a slaves
// StatefulSet it controls but whose immutable selector the operator cannot
// change, then resumes it: the reconcile fails, and the failure shows as
// Degraded/ReconcileFailed and a Warning event. (A StatefulSet the cluster
// does not control is a NameConflict instead, see conflict_test.go.)
func TestApplyFailureIsReportedAsDegraded(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	g := gomega.NewWithT(t)
	lc := newLotouCluster(ns, "fl", 1)
	lc.Spec.Paused = true
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	sel := map[string]string{"app": "squatter"}
	squatter := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "fl-slaves", OwnerReferences: []metav1.OwnerReference{resources.OwnerReference(lc)}},
		Spec: appsv1.StatefulSetSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: sel},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}},
			},
		},
	}
	g.Expect(te.k8s.Create(ctx, squatter)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Paused = false
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("True/ReconcileFailed"))
		g.Expect(condition(got, lotouv1alpha1.ConditionSlavesReady)).To(gomega.HavePrefix("False/"))
	})
	eventually(t, func(g gomega.Gomega) {
		var evs eventsv1.EventList
		g.Expect(te.k8s.List(ctx, &evs, client.InNamespace(ns))).To(gomega.Succeed())
		var warnings int
		for _, e := range evs.Items {
			if e.Type == corev1.EventTypeWarning && e.Reason == ReasonEventFailed && e.Regarding.Name == "fl" {
				warnings++
			}
		}
		g.Expect(warnings).To(gomega.BeNumerically(">=", 1))
	})
}
