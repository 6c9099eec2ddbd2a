package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

// TestSteadyStateMakesNoWrites checks that reconciles of a settled cluster
// (forced every ResyncPeriod to refresh membership) write nothing: the
// upToDate comparison must accept what the API server defaulted.
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
	before := versions(g)
	reads := te.members.reads.Load()
	consistently(t, 2500*time.Millisecond, func(g gomega.Gomega) {
		g.Expect(versions(g)).To(gomega.Equal(before))
	})
	g.Expect(te.members.reads.Load()).To(gomega.BeNumerically(">", reads), "resync reconciles must have run meanwhile")
}
