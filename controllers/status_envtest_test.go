package controllers

import (
	"context"
	"errors"
	"testing"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
	"github.com/lotou-io/lotou/runtime/contract"
)

func TestStatusProgressingToReadyThenDegraded(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "st", 2)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	te.members.set(resources.ClusterURL(lc), upView("st", 2), nil)

	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionProgressing)).To(gomega.HavePrefix("True/"))
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.HavePrefix("False/"))
		g.Expect(condition(got, lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("False/AsExpected"))
		g.Expect(condition(got, lotouv1alpha1.ConditionMasterReady)).To(gomega.Equal("False/RollingOut"))
	})

	simulateRollout(t, te.k8s, ns, "st-master", 1)
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionMasterReady)).To(gomega.Equal("True/Ready"))
		g.Expect(condition(got, lotouv1alpha1.ConditionSlavesReady)).To(gomega.HavePrefix("False/"))
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.Equal("False/SlavesNotReady"))
	})

	simulateRollout(t, te.k8s, ns, "st-slaves", 2)
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
		g.Expect(condition(got, lotouv1alpha1.ConditionProgressing)).To(gomega.Equal("False/Reconciled"))
		g.Expect(condition(got, lotouv1alpha1.ConditionSlavesReady)).To(gomega.Equal("True/Ready"))
		g.Expect(got.Status.ReadySlaves).To(gomega.Equal(int32(2)))
		g.Expect(got.Status.Replicas).To(gomega.Equal(int32(2)))
		g.Expect(got.Status.RegisteredNodes).To(gomega.HaveLen(3))
		g.Expect(got.Status.GlobalServices).To(gomega.ConsistOf("echo:st-slaves-0", "echo:st-slaves-1"))
		g.Expect(got.Status.ObservedGeneration).To(gomega.Equal(got.Generation))
	})

	// A spec change bumps the generation; status follows it.
	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Config.LogLevel = "debug"
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(got.Generation).To(gomega.Equal(int64(2)))
		g.Expect(got.Status.ObservedGeneration).To(gomega.Equal(int64(2)))
		g.Expect(condition(got, lotouv1alpha1.ConditionProgressing)).To(gomega.Equal("True/UpdatingSlaves"))
		for _, c := range got.Status.Conditions {
			g.Expect(c.ObservedGeneration).To(gomega.Equal(int64(2)), c.Type)
		}
	})
	simulateRollout(t, te.k8s, ns, "st-slaves", 2)
	// The master's change waits for the slaves; once they are ready it is applied.
	eventually(t, func(g gomega.Gomega) {
		g.Expect(getSts(g, te.k8s, ns, "st-master").Spec.Template.Spec.Containers[0].Env).To(
			gomega.ContainElement(corev1.EnvVar{Name: contract.EnvLogLevel, Value: "debug"}))
	})
	simulateRollout(t, te.k8s, ns, "st-master", 1)
	eventually(t, func(g gomega.Gomega) {
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
	})

	// The master pod stops being ready: Degraded.
	simulateRollout(t, te.k8s, ns, "st-master", 0)
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("True/MasterNotReady"))
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.Equal("False/MasterNotReady"))
		g.Expect(condition(got, lotouv1alpha1.ConditionMasterReady)).To(gomega.Equal("False/PodsNotReady"))
	})
	// And it recovers.
	simulateRollout(t, te.k8s, ns, "st-master", 1)
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("False/AsExpected"))
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
	})
}

func TestMembershipUnavailableAndPartial(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "mb", 2)
	g := gomega.NewWithT(t)
	te.members.set(resources.ClusterURL(lc), nil, errors.New("dial tcp: i/o timeout"))
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) { getSts(g, te.k8s, ns, "mb-master"); getSts(g, te.k8s, ns, "mb-slaves") })
	simulateRollout(t, te.k8s, ns, "mb-master", 1)
	simulateRollout(t, te.k8s, ns, "mb-slaves", 2)
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.Equal("False/MembershipUnavailable"))
		g.Expect(condition(got, lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("False/AsExpected"))
	})
	// Retried after MembershipRetry without any watch event: the master
	// comes back with only one slave registered.
	te.members.set(resources.ClusterURL(lc), upView("mb", 1), nil)
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.Equal("False/NodesNotRegistered"))
		g.Expect(got.Status.RegisteredNodes).To(gomega.HaveLen(2))
	})
	te.members.set(resources.ClusterURL(lc), upView("mb", 2), nil)
	eventually(t, func(g gomega.Gomega) {
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
	})
}
