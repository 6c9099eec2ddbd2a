package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

// TestMembershipLastReadTime: once the master's /cluster is read, the
// status says when, so a stale membership is visible.
func TestMembershipLastReadTime(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	g := gomega.NewWithT(t)
	lc := newLotouCluster(ns, "lr", 1)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	before := time.Now().Add(-time.Second)
	te.members.set(resources.ClusterURL(lc), upView("lr", 1), nil)
	eventually(t, func(g gomega.Gomega) { getSts(g, te.k8s, ns, "lr-master"); getSts(g, te.k8s, ns, "lr-slaves") })
	simulateRollout(t, te.k8s, ns, "lr-master", 1)
	simulateRollout(t, te.k8s, ns, "lr-slaves", 1)
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
		g.Expect(got.Status.Membership).NotTo(gomega.BeNil())
		g.Expect(got.Status.Membership.LastReadTime).NotTo(gomega.BeNil())
		g.Expect(got.Status.Membership.LastReadTime.Time).To(gomega.BeTemporally(">=", before.Truncate(time.Second)))
	})
}
