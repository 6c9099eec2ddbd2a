package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// TestNameConflictIsRefused creates a user's Service and Secret under the
// names a new LotouCluster needs: the operator must not take them over
// (no owner reference, no field change), must say NameConflict, and must
// carry on once the user removes them.
func TestNameConflictIsRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		obj  client.Object
	}{
		{"Service", &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "nc-master"}, Spec: corev1.ServiceSpec{
			Ports: []corev1.ServicePort{{Name: "web", Port: 80}}, Selector: map[string]string{"app": "web"},
		}}},
		{"Secret", &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "nc-token"}, StringData: map[string]string{"token": "users-own"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			te := getEnv(t)
			ctx := context.Background()
			ns := te.namespace(t)
			g := gomega.NewWithT(t)
			tt.obj.SetNamespace(ns)
			g.Expect(te.k8s.Create(ctx, tt.obj)).To(gomega.Succeed())
			lc := newLotouCluster(ns, "nc", 1)
			g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
			eventually(t, func(g gomega.Gomega) {
				got := getLC(g, te.k8s, lc)
				g.Expect(condition(got, lotouv1alpha1.ConditionNameConflict)).To(gomega.Equal("True/NameConflict"))
				g.Expect(condition(got, lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("True/NameConflict"))
			})
			consistently(t, time.Second, func(g gomega.Gomega) {
				cur := tt.obj.DeepCopyObject().(client.Object)
				g.Expect(te.k8s.Get(ctx, client.ObjectKeyFromObject(tt.obj), cur)).To(gomega.Succeed())
				g.Expect(cur.GetOwnerReferences()).To(gomega.BeEmpty())
				g.Expect(cur.GetAnnotations()).NotTo(gomega.HaveKey(AnnotationDesiredHash))
				if svc, ok := cur.(*corev1.Service); ok {
					g.Expect(svc.Spec.Ports).To(gomega.HaveLen(1))
					g.Expect(svc.Spec.Selector).To(gomega.Equal(map[string]string{"app": "web"}))
				}
			})
			eventually(t, func(g gomega.Gomega) {
				g.Expect(countEvents(t, te, ns, ReasonEventNameConflict)).To(gomega.BeNumerically(">=", 1))
			})

			g.Expect(te.k8s.Delete(ctx, tt.obj)).To(gomega.Succeed())
			eventually(t, func(g gomega.Gomega) { // retried with backoff; a spec change makes it prompt
				cur := getLC(g, te.k8s, lc)
				cur.Spec.Config.LogLevel = "debug"
				g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
			})
			eventually(t, func(g gomega.Gomega) {
				got := getLC(g, te.k8s, lc)
				g.Expect(condition(got, lotouv1alpha1.ConditionNameConflict)).To(gomega.Equal("False/NoConflict"))
				cur := tt.obj.DeepCopyObject().(client.Object)
				g.Expect(te.k8s.Get(ctx, client.ObjectKeyFromObject(tt.obj), cur)).To(gomega.Succeed())
				g.Expect(metav1.GetControllerOf(cur)).NotTo(gomega.BeNil())
				g.Expect(metav1.GetControllerOf(cur).UID).To(gomega.Equal(got.UID))
			})
		})
	}
}
