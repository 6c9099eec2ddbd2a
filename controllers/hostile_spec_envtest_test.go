package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

// TestNamesAndImagesTheChildrenCannotCarryAreRefused: a LotouCluster name
// is a DNS-1123 subdomain (253 characters, dots, a leading digit), but it
// names Services (DNS-1035 labels: 63 characters, a leading letter, no dots)
// and StatefulSets whose pods carry <name>-slaves-<hash> in a 63-character
// label value. Such names, and images with whitespace (refused in pod
// templates), used to be accepted, and the cluster then failed forever at
// its first child. They are refused at apply, naming the field.
func TestNamesAndImagesTheChildrenCannotCarryAreRefused(t *testing.T) {
	te := getEnv(t)
	ns := te.namespace(t)
	const tooLong = "metadata.name must be at most 45 characters"
	const notLabel = "metadata.name must start with a letter"
	const space = "spec.image must not contain whitespace"
	for _, tt := range []struct {
		name, image, want string
	}{
		{strings.Repeat("a", 46), "", tooLong},
		{strings.Repeat("a", 63), "", tooLong},
		{strings.Repeat("a", 253), "", tooLong},
		{"1cluster", "", notLabel},
		{"game.eu", "", notLabel},
		{"game-", "", "a lowercase RFC 1123"}, // the API server's own check comes first
		{"lead-space", " lotou-node:dev", space},
		{"trail-newline", "lotou-node:dev\n", space},
		{"inner-tab", "lotou-node:\tdev", space},
		{"inner-space", "lotou node:dev", space},
	} {
		t.Run(fmt.Sprintf("%.20s %q", tt.name, tt.image), func(t *testing.T) {
			lc := newLotouCluster(ns, tt.name, 1)
			if tt.image != "" {
				lc.Spec.Image = tt.image
			}
			lc.Spec.Paused = true
			err := te.k8s.Create(context.Background(), lc)
			g := gomega.NewWithT(t)
			g.Expect(err).To(gomega.HaveOccurred())
			g.Expect(err.Error()).To(gomega.ContainSubstring(tt.want))
		})
	}

	t.Run("the longest name accepted fits every child and pod", func(t *testing.T) {
		g := gomega.NewWithT(t)
		ctx := context.Background()
		name := "z" + strings.Repeat("9", 44)
		lc := newLotouCluster(ns, name, 1)
		g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
		var sts *appsv1.StatefulSet
		eventually(t, func(g gomega.Gomega) {
			sts = getSts(g, te.k8s, ns, resources.SlavesName(lc))
			getSts(g, te.k8s, ns, resources.MasterName(lc))
			for _, n := range []string{resources.MasterServiceName(lc), resources.NodesServiceName(lc)} {
				g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: n}, &corev1.Service{})).To(gomega.Succeed())
			}
		})
		// The pod the StatefulSet controller would make last (ordinal 999,
		// a 10-character revision hash) is valid: the bound is not too low.
		g.Expect(te.k8s.Create(ctx, statefulPod(sts, 999, "abcdefghij"))).To(gomega.Succeed())
		// One more character in the StatefulSet's name and that pod is
		// refused: the bound is not too high either.
		longer := sts.DeepCopy()
		longer.Name += "x"
		err := te.k8s.Create(ctx, statefulPod(longer, 999, "abcdefghij"))
		g.Expect(err).To(gomega.HaveOccurred())
		g.Expect(err.Error()).To(gomega.ContainSubstring("must be no more than 63"))
	})
}

// statefulPod is the pod the StatefulSet controller makes from sts for
// ordinal i and a revision hash.
func statefulPod(sts *appsv1.StatefulSet, i int, hash string) *corev1.Pod {
	name := fmt.Sprintf("%s-%d", sts.Name, i)
	labels := map[string]string{}
	for k, v := range sts.Spec.Template.Labels {
		labels[k] = v
	}
	labels[appsv1.ControllerRevisionHashLabelKey] = sts.Name + "-" + hash
	labels[appsv1.StatefulSetPodNameLabel] = name
	spec := sts.Spec.Template.Spec.DeepCopy()
	spec.Hostname, spec.Subdomain = name, sts.Spec.ServiceName
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: sts.Namespace, Name: name, Labels: labels}, Spec: *spec}
}

// TestScaleSubresourceEdges: kubectl scale and HPAs go through the scale
// subresource, which must refuse what spec.slaves.replicas refuses.
func TestScaleSubresourceEdges(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "se", 2)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	for _, tt := range []struct {
		replicas int32
		want     string // "" when accepted
	}{
		{-1, "spec.slaves.replicas"},
		{1001, "spec.slaves.replicas must be between 0 and 1000"},
		{1<<31 - 1, "spec.slaves.replicas must be between 0 and 1000"},
		{0, ""},
		{1000, ""},
		{1, ""},
	} {
		t.Run(fmt.Sprint(tt.replicas), func(t *testing.T) {
			g := gomega.NewWithT(t)
			scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: tt.replicas}}
			err := te.k8s.SubResource("scale").Update(ctx, getLC(g, te.k8s, lc), client.WithSubResourceBody(scale))
			if tt.want != "" {
				g.Expect(err).To(gomega.HaveOccurred())
				g.Expect(err.Error()).To(gomega.ContainSubstring(tt.want))
				return
			}
			g.Expect(err).NotTo(gomega.HaveOccurred())
			eventually(t, func(g gomega.Gomega) {
				g.Expect(*getSts(g, te.k8s, ns, "se-slaves").Spec.Replicas).To(gomega.Equal(tt.replicas))
			})
		})
	}
}

// TestPodFieldsOnlyTheAPIServerRefusesAreReported: fields whose validity
// only the StatefulSet's validation knows (label and annotation syntax,
// requests above limits, toleration operators, ...) cannot be refused at
// apply; the reconcile fails and says so in Degraded, naming the field, and
// in a Warning event. Also when the API server's message is long: a
// condition message above 32768 characters made the status patch fail, so
// the cluster showed nothing at all, and an event note above 1024 bytes
// was refused, so there was no event either.
func TestPodFieldsOnlyTheAPIServerRefusesAreReported(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	manyBadLabels := map[string]string{}
	for i := range 200 {
		manyBadLabels[fmt.Sprintf("bad key %03d", i)] = "x"
	}
	for _, tt := range []struct {
		name   string
		mutate func(*lotouv1alpha1.LotouCluster)
		want   string
	}{
		{"pod label key", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Slaves.PodLabels = map[string]string{"bad key": "x"} }, "spec.template.labels"},
		{"pod label value", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Master.PodLabels = map[string]string{"team": strings.Repeat("v", 64)}
		}, "spec.template.labels"},
		{"pod annotation key", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Slaves.PodAnnotations = map[string]string{"-bad": "x"}
		}, "spec.template.annotations"},
		{"requests above limits", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Slaves.Resources = corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2")},
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")},
			}
		}, "must be less than or equal to cpu limit"},
		{"negative memory request", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Master.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("-1Mi")}}
		}, "resources.requests[memory]"},
		{"toleration operator", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Slaves.Tolerations = []corev1.Toleration{{Key: "k", Operator: "Sometimes", Value: "v"}}
		}, "tolerations[0].operator"},
		{"node selector value", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Slaves.NodeSelector = map[string]string{"zone": "eu west"}
		}, "nodeSelector"},
		{"env name", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Slaves.Env = []corev1.EnvVar{{Name: "A=B", Value: "x"}}
		}, `Invalid value: "A=B"`},
		{"run as user", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.Slaves.PodSecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](-1)}
		}, "runAsUser"},
		{"scraper selector operator", func(lc *lotouv1alpha1.LotouCluster) {
			lc.Spec.NetworkPolicy.Scrapers = []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Sometimes"}},
			}}}
		}, "matchExpressions[0].operator"},
		{"two hundred bad labels", func(lc *lotouv1alpha1.LotouCluster) { lc.Spec.Slaves.PodLabels = manyBadLabels }, "spec.template.labels"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			name := "pf-" + strings.ReplaceAll(tt.name, " ", "-")
			lc := newLotouCluster(ns, name, 1)
			tt.mutate(lc)
			g := gomega.NewWithT(t)
			g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed(), "accepted at apply: only the API server's pod validation knows")
			eventually(t, func(g gomega.Gomega) {
				got := getLC(g, te.k8s, lc)
				g.Expect(condition(got, lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("True/ReconcileFailed"))
				msg := meta.FindStatusCondition(got.Status.Conditions, lotouv1alpha1.ConditionDegraded).Message
				g.Expect(msg).To(gomega.ContainSubstring(tt.want))
				g.Expect(utf8.RuneCountInString(msg)).To(gomega.BeNumerically("<=", 32768))
			})
			eventually(t, func(g gomega.Gomega) {
				var evs eventsv1.EventList
				g.Expect(te.k8s.List(ctx, &evs, client.InNamespace(ns))).To(gomega.Succeed())
				found := false
				for _, e := range evs.Items {
					if e.Type == corev1.EventTypeWarning && e.Reason == ReasonEventFailed && e.Regarding.Name == name {
						found = true
						g.Expect(len(e.Note)).To(gomega.BeNumerically("<=", 1024))
					}
				}
				g.Expect(found).To(gomega.BeTrue(), "a Warning event for %s", name)
			})
		})
	}
}

// TestGateServiceTypeChanges walks the gate Service through every type
// change (the API server allocated node ports and load balancer fields on
// the way, which a change back must not trip over) and a port change: the
// Service follows each and the cluster never reports a failed reconcile.
func TestGateServiceTypeChanges(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "gts", 1)
	lc.Spec.Gate = &lotouv1alpha1.GateSpec{Enabled: true}
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	key := client.ObjectKey{Namespace: ns, Name: "gts-gate"}
	for _, step := range []struct {
		typ  string
		port int32
	}{
		{lotouv1alpha1.GateServiceNodePort, 7000},
		{lotouv1alpha1.GateServiceClusterIP, 7000},
		{lotouv1alpha1.GateServiceLoadBalancer, 7000},
		{lotouv1alpha1.GateServiceNodePort, 7100},
		{lotouv1alpha1.GateServiceLoadBalancer, 7100},
		{lotouv1alpha1.GateServiceClusterIP, 7200},
	} {
		t.Run(fmt.Sprintf("%s:%d", step.typ, step.port), func(t *testing.T) {
			eventually(t, func(g gomega.Gomega) {
				cur := getLC(g, te.k8s, lc)
				cur.Spec.Gate.Service.Type, cur.Spec.Gate.Port = step.typ, step.port
				g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
			})
			eventually(t, func(g gomega.Gomega) {
				var svc corev1.Service
				g.Expect(te.k8s.Get(ctx, key, &svc)).To(gomega.Succeed())
				g.Expect(string(svc.Spec.Type)).To(gomega.Equal(step.typ))
				g.Expect(svc.Spec.Ports).To(gomega.HaveLen(1))
				g.Expect(svc.Spec.Ports[0].Port).To(gomega.Equal(step.port))
				if step.typ == lotouv1alpha1.GateServiceClusterIP {
					g.Expect(svc.Spec.Ports[0].NodePort).To(gomega.BeZero())
				}
				got := getLC(g, te.k8s, lc)
				g.Expect(got.Status.ObservedGeneration).To(gomega.Equal(got.Generation))
				g.Expect(condition(got, lotouv1alpha1.ConditionDegraded)).NotTo(gomega.Equal("True/ReconcileFailed"))
			})
		})
	}
}
