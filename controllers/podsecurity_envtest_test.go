package controllers

import (
	"context"
	"testing"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

// TestPodsPassRestrictedPodSecurity submits the pods of both roles, as the
// StatefulSets would create them, to the API server's Pod Security
// admission in a namespace that enforces the restricted level (dry run).
// A pod without the operator's security contexts is refused there, so the
// check is live.
func TestPodsPassRestrictedPodSecurity(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "restricted-", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce":         "restricted",
		"pod-security.kubernetes.io/enforce-version": "latest",
	}}}
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, ns)).To(gomega.Succeed())
	lc := newLotouCluster(ns.Name, "ps", 1)
	lc.Spec.Gate = &lotouv1alpha1.GateSpec{Enabled: true}
	podOf := func(tpl corev1.PodTemplateSpec, name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: name, Labels: tpl.Labels, Annotations: tpl.Annotations}, Spec: tpl.Spec}
	}
	for name, tpl := range map[string]corev1.PodTemplateSpec{
		"ps-master-0": resources.MasterStatefulSet(lc, "", "h").Spec.Template,
		"ps-slaves-0": resources.SlavesStatefulSet(lc, "h").Spec.Template,
	} {
		t.Run(name, func(t *testing.T) {
			g := gomega.NewWithT(t)
			g.Expect(te.k8s.Create(ctx, podOf(tpl, name), client.DryRunAll)).To(gomega.Succeed())

			bare := podOf(tpl, name)
			bare.Spec.SecurityContext = nil
			bare.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false)}
			err := te.k8s.Create(ctx, bare, client.DryRunAll)
			g.Expect(err).To(gomega.HaveOccurred(), "Pod Security admission must be enforcing")
			g.Expect(err.Error()).To(gomega.ContainSubstring("violates PodSecurity"))
		})
	}
}
