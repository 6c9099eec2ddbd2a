package controllers

import (
	"context"
	"testing"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// TestRemovedFieldsReachTheStatefulSet sets every optional pod field of
// the slaves, then removes them one at a time: each removal must reach the
// StatefulSet (the old DeepDerivative comparison called those up to date),
// with one Updated event per change.
func TestRemovedFieldsReachTheStatefulSet(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "rm", 1)
	rs := &lc.Spec.Slaves.RoleSpec
	rs.NodeSelector = map[string]string{"pool": "games"}
	rs.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
	rs.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}}
	rs.PodAnnotations = map[string]string{"team": "red"}
	rs.PodLabels = map[string]string{"tier": "gold"}
	rs.Env = []corev1.EnvVar{{Name: "GAME_A", Value: "1"}, {Name: "GAME_B", Value: "2"}}
	rs.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
		Weight: 10, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname"},
	}}}}
	lc.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		pod := getSts(g, te.k8s, ns, "rm-slaves").Spec.Template
		g.Expect(pod.Spec.NodeSelector).To(gomega.HaveKey("pool"))
		g.Expect(pod.Spec.Tolerations).To(gomega.HaveLen(1))
		g.Expect(pod.Spec.Containers[0].Resources.Requests).To(gomega.HaveKey(corev1.ResourceMemory))
		g.Expect(pod.Annotations).To(gomega.HaveKey("team"))
		g.Expect(pod.Labels).To(gomega.HaveKey("tier"))
		g.Expect(envNames(pod.Spec.Containers[0])).To(gomega.ContainElements("GAME_A", "GAME_B"))
		g.Expect(pod.Spec.Affinity).NotTo(gomega.BeNil())
		g.Expect(pod.Spec.ImagePullSecrets).To(gomega.HaveLen(1))
	})
	tests := []struct {
		name   string
		remove func(*lotouv1alpha1.LotouCluster)
		gone   func(g gomega.Gomega, pod corev1.PodTemplateSpec)
	}{
		{"nodeSelector", func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.NodeSelector = nil },
			func(g gomega.Gomega, p corev1.PodTemplateSpec) { g.Expect(p.Spec.NodeSelector).To(gomega.BeEmpty()) }},
		{"tolerations", func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.Tolerations = nil },
			func(g gomega.Gomega, p corev1.PodTemplateSpec) { g.Expect(p.Spec.Tolerations).To(gomega.BeEmpty()) }},
		{"resources", func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.Resources = corev1.ResourceRequirements{} },
			func(g gomega.Gomega, p corev1.PodTemplateSpec) {
				g.Expect(p.Spec.Containers[0].Resources.Requests).To(gomega.BeEmpty())
			}},
		{"pod annotations", func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.PodAnnotations = nil },
			func(g gomega.Gomega, p corev1.PodTemplateSpec) { g.Expect(p.Annotations).NotTo(gomega.HaveKey("team")) }},
		{"pod labels", func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.PodLabels = nil },
			func(g gomega.Gomega, p corev1.PodTemplateSpec) { g.Expect(p.Labels).NotTo(gomega.HaveKey("tier")) }},
		{"trailing env", func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.Env = c.Spec.Slaves.Env[:1] },
			func(g gomega.Gomega, p corev1.PodTemplateSpec) {
				g.Expect(envNames(p.Spec.Containers[0])).NotTo(gomega.ContainElement("GAME_B"))
				g.Expect(envNames(p.Spec.Containers[0])).To(gomega.ContainElement("GAME_A"))
			}},
		{"affinity", func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.Affinity = nil },
			func(g gomega.Gomega, p corev1.PodTemplateSpec) {
				// Only the default slave spread is left (resources.spreadSlaves: weight 100).
				g.Expect(p.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution).To(gomega.HaveLen(1))
				g.Expect(p.Spec.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].Weight).To(gomega.Equal(int32(100)))
			}},
		{"imagePullSecrets", func(c *lotouv1alpha1.LotouCluster) { c.Spec.ImagePullSecrets = nil },
			func(g gomega.Gomega, p corev1.PodTemplateSpec) {
				g.Expect(p.Spec.ImagePullSecrets).To(gomega.BeEmpty())
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			updated := countEvents(t, te, ns, ReasonEventUpdated)
			eventually(t, func(g gomega.Gomega) {
				cur := getLC(g, te.k8s, lc)
				tt.remove(cur)
				g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
			})
			eventually(t, func(g gomega.Gomega) { tt.gone(g, getSts(g, te.k8s, ns, "rm-slaves").Spec.Template) })
			eventually(t, func(g gomega.Gomega) {
				g.Expect(countEvents(t, te, ns, ReasonEventUpdated)).To(gomega.BeNumerically(">", updated))
			})
		})
	}
}

func envNames(c corev1.Container) []string {
	var out []string
	for _, e := range c.Env {
		out = append(out, e.Name)
	}
	return out
}

// TestGateService turns the gate on and off: the Service <name>-gate
// follows, and the slaves get the gate port and LOTOU_GATE.
func TestGateService(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "gt", 1)
	lc.Spec.Gate = &lotouv1alpha1.GateSpec{Enabled: true, Service: lotouv1alpha1.GateServiceSpec{Type: lotouv1alpha1.GateServiceNodePort}}
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	key := client.ObjectKey{Namespace: ns, Name: "gt-gate"}
	eventually(t, func(g gomega.Gomega) {
		var svc corev1.Service
		g.Expect(te.k8s.Get(ctx, key, &svc)).To(gomega.Succeed())
		g.Expect(svc.Spec.Type).To(gomega.Equal(corev1.ServiceTypeNodePort))
		g.Expect(svc.Spec.Ports[0].Port).To(gomega.Equal(int32(7000)))
		g.Expect(envNames(getSts(g, te.k8s, ns, "gt-slaves").Spec.Template.Spec.Containers[0])).To(gomega.ContainElement("LOTOU_GATE"))
	})
	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Gate.Enabled = false
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		err := te.k8s.Get(ctx, key, &corev1.Service{})
		g.Expect(err).To(gomega.HaveOccurred())
		g.Expect(client.IgnoreNotFound(err)).To(gomega.Succeed())
		sts := getSts(g, te.k8s, ns, "gt-slaves")
		g.Expect(envNames(sts.Spec.Template.Spec.Containers[0])).NotTo(gomega.ContainElement("LOTOU_GATE"))
		g.Expect(sts.Spec.Template.Spec.Containers[0].Ports).To(gomega.HaveLen(2))
	})
}
