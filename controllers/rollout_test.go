package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
	"github.com/lotou-io/lotou/runtime/contract"
)

func TestImageChangeUpdatesSlavesBeforeMaster(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "ro", 3)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	te.members.set(resources.ClusterURL(lc), upView("ro", 3), nil)
	eventually(t, func(g gomega.Gomega) { getSts(g, te.k8s, ns, "ro-master"); getSts(g, te.k8s, ns, "ro-slaves") })
	simulateRollout(t, te.k8s, ns, "ro-master", 1)
	simulateRollout(t, te.k8s, ns, "ro-slaves", 3)
	eventually(t, func(g gomega.Gomega) {
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
	})

	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Image = "lotou-node:v2"
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	image := func(g gomega.Gomega, name string) string {
		return getSts(g, te.k8s, ns, name).Spec.Template.Spec.Containers[0].Image
	}
	eventually(t, func(g gomega.Gomega) {
		g.Expect(image(g, "ro-slaves")).To(gomega.Equal("lotou-node:v2"))
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionProgressing)).To(gomega.Equal("True/UpdatingSlaves"))
	})
	consistently(t, time.Second, func(g gomega.Gomega) {
		g.Expect(image(g, "ro-master")).To(gomega.Equal("lotou-node:dev"), "master must wait for the slaves")
	})

	// Slaves roll out but are not all ready yet: the master still waits.
	simulateRollout(t, te.k8s, ns, "ro-slaves", 2)
	eventually(t, func(g gomega.Gomega) {
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionProgressing)).To(gomega.Equal("True/WaitingForSlaves"))
	})
	consistently(t, time.Second, func(g gomega.Gomega) {
		g.Expect(image(g, "ro-master")).To(gomega.Equal("lotou-node:dev"))
	})

	simulateRollout(t, te.k8s, ns, "ro-slaves", 3)
	eventually(t, func(g gomega.Gomega) {
		g.Expect(image(g, "ro-master")).To(gomega.Equal("lotou-node:v2"))
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionProgressing)).To(gomega.Equal("True/UpdatingMaster"))
	})
	simulateRollout(t, te.k8s, ns, "ro-master", 1)
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
		g.Expect(condition(got, lotouv1alpha1.ConditionProgressing)).To(gomega.Equal("False/Reconciled"))
	})
	// One ImageUpdate event per role, and no token change was reported.
	eventually(t, func(g gomega.Gomega) {
		var evs eventsv1.EventList
		g.Expect(te.k8s.List(ctx, &evs, client.InNamespace(ns))).To(gomega.Succeed())
		updated := map[string]string{}
		for _, e := range evs.Items {
			g.Expect(e.Reason).NotTo(gomega.Equal(ReasonEventTokenChanged))
			if e.Reason == ReasonEventImageUpdate && e.Related != nil {
				updated[e.Related.Name] = e.Note
			}
		}
		g.Expect(updated).To(gomega.HaveKeyWithValue("ro-slaves", gomega.ContainSubstring("lotou-node:dev to lotou-node:v2")))
		g.Expect(updated).To(gomega.HaveKeyWithValue("ro-master", gomega.ContainSubstring("lotou-node:dev to lotou-node:v2")))
	})

	// Any other pod template change is held back the same way: a config change.
	logLevel := func(g gomega.Gomega, name string) string {
		for _, e := range getSts(g, te.k8s, ns, name).Spec.Template.Spec.Containers[0].Env {
			if e.Name == contract.EnvLogLevel {
				return e.Value
			}
		}
		return ""
	}
	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Config.LogLevel = "debug"
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		g.Expect(logLevel(g, "ro-slaves")).To(gomega.Equal("debug"))
	})
	consistently(t, time.Second, func(g gomega.Gomega) {
		g.Expect(logLevel(g, "ro-master")).To(gomega.Equal("info"), "master must wait for the slaves")
	})
	simulateRollout(t, te.k8s, ns, "ro-slaves", 3)
	eventually(t, func(g gomega.Gomega) {
		g.Expect(logLevel(g, "ro-master")).To(gomega.Equal("debug"))
	})
}
