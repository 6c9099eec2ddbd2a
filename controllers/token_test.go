package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

// TestDeletedTokenRollsEveryPod deletes the token Secret of a ready cluster
// whose new image is still held back from the master: the operator makes a
// new token, both pod templates get its hash at once (the master keeps its
// old image until the slaves are ready), and a Warning event says why. A
// token rotated by hand is kept and rolls both roles the same way.
func TestDeletedTokenRollsEveryPod(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "tk", 2)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	te.members.set(resources.ClusterURL(lc), upView("tk", 2), nil)
	key := client.ObjectKey{Namespace: ns, Name: "tk-token"}
	var first corev1.Secret
	eventually(t, func(g gomega.Gomega) {
		g.Expect(te.k8s.Get(ctx, key, &first)).To(gomega.Succeed())
		want := resources.TokenHash(first.Data[resources.TokenKey])
		for _, name := range []string{"tk-master", "tk-slaves"} {
			g.Expect(tokenHashOf(getSts(g, te.k8s, ns, name))).To(gomega.Equal(want), name)
		}
	})
	simulateRollout(t, te.k8s, ns, "tk-master", 1)
	simulateRollout(t, te.k8s, ns, "tk-slaves", 2)
	eventually(t, func(g gomega.Gomega) {
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
	})

	// A new image waits for the slaves before reaching the master.
	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Image = "lotou-node:v2"
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		g.Expect(imageOf(getSts(g, te.k8s, ns, "tk-slaves"))).To(gomega.Equal("lotou-node:v2"))
	})

	g.Expect(te.k8s.Delete(ctx, &first)).To(gomega.Succeed())
	var second corev1.Secret
	eventually(t, func(g gomega.Gomega) {
		g.Expect(te.k8s.Get(ctx, key, &second)).To(gomega.Succeed())
		g.Expect(second.UID).NotTo(gomega.Equal(first.UID))
		g.Expect(second.Data[resources.TokenKey]).NotTo(gomega.Equal(first.Data[resources.TokenKey]))
		want := resources.TokenHash(second.Data[resources.TokenKey])
		for _, name := range []string{"tk-master", "tk-slaves"} {
			g.Expect(tokenHashOf(getSts(g, te.k8s, ns, name))).To(gomega.Equal(want), name)
		}
	})
	// The token change is not held back, the image still is.
	consistently(t, time.Second, func(g gomega.Gomega) {
		g.Expect(imageOf(getSts(g, te.k8s, ns, "tk-master"))).To(gomega.Equal("lotou-node:dev"))
	})
	eventually(t, func(g gomega.Gomega) {
		var evs eventsv1.EventList
		g.Expect(te.k8s.List(ctx, &evs, client.InNamespace(ns))).To(gomega.Succeed())
		roles := map[string]bool{}
		for _, e := range evs.Items {
			if e.Type == corev1.EventTypeWarning && e.Reason == ReasonEventTokenChanged && e.Regarding.Name == "tk" && e.Related != nil {
				roles[e.Related.Name] = true
				g.Expect(e.Note).NotTo(gomega.ContainSubstring(string(second.Data[resources.TokenKey])))
			}
		}
		g.Expect(roles).To(gomega.HaveKey("tk-master"))
		g.Expect(roles).To(gomega.HaveKey("tk-slaves"))
	})

	// Once the slaves are ready on the new spec, the master gets the image
	// and keeps the new token hash.
	simulateRollout(t, te.k8s, ns, "tk-slaves", 2)
	eventually(t, func(g gomega.Gomega) {
		m := getSts(g, te.k8s, ns, "tk-master")
		g.Expect(imageOf(m)).To(gomega.Equal("lotou-node:v2"))
		g.Expect(tokenHashOf(m)).To(gomega.Equal(resources.TokenHash(second.Data[resources.TokenKey])))
	})

	// A user rotating the token by hand is kept, and rolls both roles too.
	rotated := []byte("hand-rotated-token-0123456789abcdef")
	eventually(t, func(g gomega.Gomega) {
		var cur corev1.Secret
		g.Expect(te.k8s.Get(ctx, key, &cur)).To(gomega.Succeed())
		cur.Data[resources.TokenKey] = rotated
		g.Expect(te.k8s.Update(ctx, &cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		for _, name := range []string{"tk-master", "tk-slaves"} {
			g.Expect(tokenHashOf(getSts(g, te.k8s, ns, name))).To(gomega.Equal(resources.TokenHash(rotated)), name)
		}
		var cur corev1.Secret
		g.Expect(te.k8s.Get(ctx, key, &cur)).To(gomega.Succeed())
		g.Expect(cur.Data[resources.TokenKey]).To(gomega.Equal(rotated))
	})
}
