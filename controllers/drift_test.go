package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

func TestDriftIsRestored(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "dr", 2)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	svcKey := client.ObjectKey{Namespace: ns, Name: "dr-master"}
	var svc corev1.Service
	eventually(t, func(g gomega.Gomega) {
		g.Expect(te.k8s.Get(ctx, svcKey, &svc)).To(gomega.Succeed())
		getSts(g, te.k8s, ns, "dr-slaves")
	})

	// Someone edits the slaves' image and replicas by hand.
	eventually(t, func(g gomega.Gomega) {
		sts := getSts(g, te.k8s, ns, "dr-slaves")
		sts.Spec.Template.Spec.Containers[0].Image = "evil:latest"
		sts.Spec.Replicas = ptr.To[int32](9)
		g.Expect(te.k8s.Update(ctx, sts, client.FieldOwner("kubectl-edit"))).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		sts := getSts(g, te.k8s, ns, "dr-slaves")
		g.Expect(sts.Spec.Template.Spec.Containers[0].Image).To(gomega.Equal("lotou-node:dev"))
		g.Expect(*sts.Spec.Replicas).To(gomega.Equal(int32(2)))
	})

	// Someone turns off publishNotReadyAddresses on the headless Service.
	eventually(t, func(g gomega.Gomega) {
		var nodes corev1.Service
		g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dr-nodes"}, &nodes)).To(gomega.Succeed())
		nodes.Spec.PublishNotReadyAddresses = false
		g.Expect(te.k8s.Update(ctx, &nodes)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		var nodes corev1.Service
		g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dr-nodes"}, &nodes)).To(gomega.Succeed())
		g.Expect(nodes.Spec.PublishNotReadyAddresses).To(gomega.BeTrue())
	})

	// A user-owned field the operator does not set survives.
	eventually(t, func(g gomega.Gomega) {
		var s corev1.Service
		g.Expect(te.k8s.Get(ctx, svcKey, &s)).To(gomega.Succeed())
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations["team"] = "red"
		g.Expect(te.k8s.Update(ctx, &s)).To(gomega.Succeed())
	})

	// Someone deletes the master Service.
	g.Expect(te.k8s.Delete(ctx, &svc)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		var s corev1.Service
		g.Expect(te.k8s.Get(ctx, svcKey, &s)).To(gomega.Succeed())
		g.Expect(s.UID).NotTo(gomega.Equal(svc.UID))
	})
	// The annotation went with the deleted object; set it on the new one
	// and check a later reconcile (forced by a spec change) keeps it.
	eventually(t, func(g gomega.Gomega) {
		var s corev1.Service
		g.Expect(te.k8s.Get(ctx, svcKey, &s)).To(gomega.Succeed())
		s.Annotations = map[string]string{"team": "blue"}
		g.Expect(te.k8s.Update(ctx, &s)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.HTTPPort = 9090
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		var s corev1.Service
		g.Expect(te.k8s.Get(ctx, svcKey, &s)).To(gomega.Succeed())
		g.Expect(s.Spec.Ports[1].Port).To(gomega.Equal(int32(9090)))
		g.Expect(s.Annotations).To(gomega.HaveKeyWithValue("team", "blue"))
	})
}

func TestPauseChangesNothing(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "pz", 2)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	var svc corev1.Service
	svcKey := client.ObjectKey{Namespace: ns, Name: "pz-nodes"}
	eventually(t, func(g gomega.Gomega) {
		getSts(g, te.k8s, ns, "pz-slaves")
		g.Expect(te.k8s.Get(ctx, svcKey, &svc)).To(gomega.Succeed())
	})

	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Paused = true
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionProgressing)).To(gomega.Equal("False/Paused"))
	})
	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Slaves.Replicas = ptr.To[int32](7)
		cur.Spec.Image = "lotou-node:v2"
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	g.Expect(te.k8s.Delete(ctx, &svc)).To(gomega.Succeed())
	consistently(t, 2*time.Second, func(g gomega.Gomega) {
		sts := getSts(g, te.k8s, ns, "pz-slaves")
		g.Expect(*sts.Spec.Replicas).To(gomega.Equal(int32(2)))
		g.Expect(sts.Spec.Template.Spec.Containers[0].Image).To(gomega.Equal("lotou-node:dev"))
		var s corev1.Service
		g.Expect(client.IgnoreNotFound(te.k8s.Get(ctx, svcKey, &s))).To(gomega.Succeed())
		g.Expect(s.UID).To(gomega.Equal(types.UID("")), "deleted Service must not be recreated while paused")
	})
	got := getLC(g, te.k8s, lc)
	g.Expect(got.Status.ObservedGeneration).To(gomega.Equal(got.Generation))
	g.Expect(condition(got, lotouv1alpha1.ConditionProgressing)).To(gomega.Equal("False/Paused"))

	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Paused = false
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		g.Expect(*getSts(g, te.k8s, ns, "pz-slaves").Spec.Replicas).To(gomega.Equal(int32(7)))
		g.Expect(te.k8s.Get(ctx, svcKey, &corev1.Service{})).To(gomega.Succeed())
	})
}
