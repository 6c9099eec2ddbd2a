package controllers

import (
	"context"
	"fmt"
	"testing"

	"github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/runtime/contract"
)

func TestScaleViaSpecAndScaleSubresource(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "sc", 2)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		g.Expect(*getSts(g, te.k8s, ns, "sc-slaves").Spec.Replicas).To(gomega.Equal(int32(2)))
	})

	// Via spec.
	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Slaves.Replicas = ptr.To[int32](5)
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		g.Expect(*getSts(g, te.k8s, ns, "sc-slaves").Spec.Replicas).To(gomega.Equal(int32(5)))
	})

	// Via the scale subresource, as kubectl scale and an HPA do.
	scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: 3}}
	g.Expect(te.k8s.SubResource("scale").Update(ctx, getLC(g, te.k8s, lc), client.WithSubResourceBody(scale))).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		g.Expect(*getSts(g, te.k8s, ns, "sc-slaves").Spec.Replicas).To(gomega.Equal(int32(3)))
	})
	g.Expect(*getLC(g, te.k8s, lc).Spec.Slaves.Replicas).To(gomega.Equal(int32(3)))
	eventually(t, func(g gomega.Gomega) {
		var evs eventsv1.EventList
		g.Expect(te.k8s.List(ctx, &evs, client.InNamespace(ns))).To(gomega.Succeed())
		var notes []string
		for _, e := range evs.Items {
			if e.Reason == ReasonEventScaled {
				notes = append(notes, e.Note)
			}
		}
		g.Expect(notes).To(gomega.ContainElements("Scaled slaves from 2 to 5", "Scaled slaves from 5 to 3"))
	})

	simulateRollout(t, te.k8s, ns, "sc-slaves", 3)
	got := &autoscalingv1.Scale{}
	eventually(t, func(g gomega.Gomega) {
		g.Expect(te.k8s.SubResource("scale").Get(ctx, getLC(g, te.k8s, lc), got)).To(gomega.Succeed())
		g.Expect(got.Status.Replicas).To(gomega.Equal(int32(3)))
		g.Expect(got.Status.Selector).NotTo(gomega.BeEmpty())
	})

	// status.selector selects exactly the slave pods: make pods from both
	// StatefulSets' templates, plus another cluster's slave.
	mk := func(name string, l map[string]string) {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "x"}}},
		}
		g.Expect(te.k8s.Create(ctx, pod)).To(gomega.Succeed())
	}
	slaveTpl := getSts(g, te.k8s, ns, "sc-slaves").Spec.Template.Labels
	masterTpl := getSts(g, te.k8s, ns, "sc-master").Spec.Template.Labels
	for i := range 3 {
		mk(fmt.Sprintf("sc-slaves-%d", i), slaveTpl)
	}
	mk("sc-master-0", masterTpl)
	mk("other-slaves-0", map[string]string{contract.LabelCluster: "other", contract.LabelRole: contract.RoleSlave})

	sel, err := labels.Parse(got.Status.Selector)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	var pods corev1.PodList
	g.Expect(te.k8s.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel})).To(gomega.Succeed())
	var names []string
	for _, p := range pods.Items {
		names = append(names, p.Name)
	}
	g.Expect(names).To(gomega.ConsistOf("sc-slaves-0", "sc-slaves-1", "sc-slaves-2"))
}
