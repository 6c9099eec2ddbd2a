package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
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
