package controllers

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

// TestSteadyStateMakesNoWrites checks that reconciles of a settled cluster
// (forced every ResyncPeriod to refresh membership) write nothing: the
// upToDate comparison must accept what the API server defaulted. It counts
// the manager's write requests, since a server-side apply that changes
// nothing leaves resourceVersion alone, and it checks no Updated event is
// emitted meanwhile.
func TestSteadyStateMakesNoWrites(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "sd", 2)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	te.members.set(resources.ClusterURL(lc), upView("sd", 2), nil)
	eventually(t, func(g gomega.Gomega) { getSts(g, te.k8s, ns, "sd-master"); getSts(g, te.k8s, ns, "sd-slaves") })
	simulateRollout(t, te.k8s, ns, "sd-master", 1)
	simulateRollout(t, te.k8s, ns, "sd-slaves", 2)
	eventually(t, func(g gomega.Gomega) {
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
	})
	objs := map[string]client.Object{
		"sd-token": &corev1.Secret{}, "sd-master": &corev1.Service{}, "sd-nodes": &corev1.Service{},
		"sts/sd-master": &appsv1.StatefulSet{}, "sts/sd-slaves": &appsv1.StatefulSet{},
		"pdb/sd-master": &policyv1.PodDisruptionBudget{}, "pdb/sd-slaves": &policyv1.PodDisruptionBudget{},
		"lc": &lotouv1alpha1.LotouCluster{},
	}
	names := map[string]string{
		"sd-token": "sd-token", "sd-master": "sd-master", "sd-nodes": "sd-nodes", "sts/sd-master": "sd-master",
		"sts/sd-slaves": "sd-slaves", "pdb/sd-master": "sd-master", "pdb/sd-slaves": "sd-slaves", "lc": "sd",
	}
	versions := func(g gomega.Gomega) map[string]string {
		rv := map[string]string{}
		for k, o := range objs {
			g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: names[k]}, o)).To(gomega.Succeed())
			rv[k] = o.GetResourceVersion()
		}
		return rv
	}
	// Let the reconciles caused by the simulated rollouts finish.
	g.Expect(waitQuiet(ctx, te.requests, ns, 500*time.Millisecond, waitTimeout)).To(gomega.Succeed())
	// From creation to Ready, each child object was written once.
	perObject := map[string]int{}
	for _, w := range te.requests.since(ns, 0) {
		if !strings.Contains(w, "/lotouclusters/") {
			perObject[w[strings.Index(w, " ")+1:]]++
		}
	}
	// Token Secret, two Services, two StatefulSets, two PDBs, the NetworkPolicy.
	g.Expect(perObject).To(gomega.HaveLen(8))
	for path, n := range perObject {
		g.Expect(n).To(gomega.Equal(1), "writes to %s", path)
	}
	before := versions(g)
	writes := te.requests.count(ns)
	updated := countEvents(t, te, ns, ReasonEventUpdated)
	reads := te.members.reads.Load()
	consistently(t, 2500*time.Millisecond, func(g gomega.Gomega) {
		g.Expect(versions(g)).To(gomega.Equal(before))
	})
	g.Expect(te.members.reads.Load()).To(gomega.BeNumerically(">", reads+1), "resync reconciles must have run meanwhile")
	g.Expect(te.requests.since(ns, writes)).To(gomega.BeEmpty(), "a settled cluster must get no write request")
	g.Expect(countEvents(t, te, ns, ReasonEventUpdated)).To(gomega.Equal(updated), "no Updated event without a change")
}

// countEvents counts the events of one reason in ns.
func countEvents(t *testing.T, te *testEnv, ns, reason string) int {
	t.Helper()
	var evs eventsv1.EventList
	if err := te.k8s.List(context.Background(), &evs, client.InNamespace(ns)); err != nil {
		t.Fatalf("listing events: %v", err)
	}
	n := 0
	for _, e := range evs.Items {
		if e.Reason == reason {
			n++
		}
	}
	return n
}

// TestSteadyStateWithEveryOptionalField is TestSteadyStateMakesNoWrites for
// a cluster that sets every optional field the builders turn into object
// fields: a field the API server defaults or normalises differently from
// what the builder writes would show up as a write on every resync.
func TestSteadyStateWithEveryOptionalField(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "op", 2)
	lc.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "registry"}}
	lc.Spec.Master.DisruptionPolicy = lotouv1alpha1.MasterDisruptionBlock
	lc.Spec.Master.PodSecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000), FSGroup: ptr.To[int64](1000)}
	lc.Spec.Slaves.SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(true), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}}
	lc.Spec.Slaves.MaxUnavailable = ptr.To(intstr.FromString("50%"))
	lc.Spec.Slaves.DrainTimeout = &metav1.Duration{Duration: 90 * time.Second}
	lc.Spec.Slaves.Resources = corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.1"), corev1.ResourceMemory: resource.MustParse("64Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1Gi")},
	}
	lc.Spec.Slaves.NodeSelector = map[string]string{"pool": "games"}
	lc.Spec.Slaves.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "games", Effect: corev1.TaintEffectNoSchedule}}
	lc.Spec.Slaves.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
		Weight: 50, PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname", LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"lotou.io/cluster": "op"}}},
	}}}}
	lc.Spec.Slaves.Env = []corev1.EnvVar{{Name: "GAME", Value: "1"}, {Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}}
	lc.Spec.Slaves.PodAnnotations = map[string]string{"team": "red"}
	lc.Spec.Slaves.PodLabels = map[string]string{"tier": "gold"}
	lc.Spec.Gate = &lotouv1alpha1.GateSpec{Enabled: true, Service: lotouv1alpha1.GateServiceSpec{Type: lotouv1alpha1.GateServiceNodePort, Annotations: map[string]string{"lb": "x"}}}
	lc.Spec.Discovery = &lotouv1alpha1.DiscoverySpec{Type: lotouv1alpha1.DiscoveryEtcd, Etcd: &lotouv1alpha1.EtcdSpec{
		Endpoints: []string{"http://etcd:2379"}, SecretRef: &corev1.LocalObjectReference{Name: "etcd-auth"}, TLSSecretRef: &corev1.LocalObjectReference{Name: "etcd-tls"},
	}}
	lc.Spec.Transport = &lotouv1alpha1.TransportSpec{Type: lotouv1alpha1.TransportNATS, NATS: &lotouv1alpha1.NATSSpec{URL: "nats://nats:4222", SecretRef: &corev1.LocalObjectReference{Name: "nats-auth"}}}
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	te.members.set(resources.ClusterURL(lc), upView("op", 2), nil)
	eventually(t, func(g gomega.Gomega) { getSts(g, te.k8s, ns, "op-master"); getSts(g, te.k8s, ns, "op-slaves") })
	simulateRollout(t, te.k8s, ns, "op-master", 1)
	simulateRollout(t, te.k8s, ns, "op-slaves", 2)
	eventually(t, func(g gomega.Gomega) {
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
		g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "op-gate"}, &corev1.Service{})).To(gomega.Succeed())
	})
	g.Expect(waitQuiet(ctx, te.requests, ns, 500*time.Millisecond, waitTimeout)).To(gomega.Succeed())
	writes := te.requests.count(ns)
	reads := te.members.reads.Load()
	eventually(t, func(g gomega.Gomega) {
		g.Expect(te.members.reads.Load()).To(gomega.BeNumerically(">", reads+1), "resync reconciles must run")
	})
	g.Expect(te.requests.since(ns, writes)).To(gomega.BeEmpty(), "a settled cluster must get no write request")
}
