package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

// TestDeletedTokenWaitsForTheUser deletes the token Secret of a ready
// cluster: the operator reports TokenMissing, leaves both StatefulSets
// untouched (no restart, no new token) even when the spec changes, and
// only re-keys when the user annotates the LotouCluster; then both pod
// templates get the new token's hash and the annotation is removed. A
// token rotated by hand is kept and rolls both roles.
func TestDeletedTokenWaitsForTheUser(t *testing.T) {
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
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.Equal("True/Ready"))
		g.Expect(condition(got, lotouv1alpha1.ConditionTokenMissing)).To(gomega.Equal("False/TokenPresent"))
	})
	masterRV := getSts(g, te.k8s, ns, "tk-master").ResourceVersion
	slavesRV := getSts(g, te.k8s, ns, "tk-slaves").ResourceVersion

	g.Expect(te.k8s.Delete(ctx, &first)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionTokenMissing)).To(gomega.Equal("True/TokenMissing"))
		g.Expect(condition(got, lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("True/TokenMissing"))
	})
	// A spec change meanwhile does not restart anything either.
	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Image = "lotou-node:v2"
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	consistently(t, 1500*time.Millisecond, func(g gomega.Gomega) {
		g.Expect(getSts(g, te.k8s, ns, "tk-master").ResourceVersion).To(gomega.Equal(masterRV))
		g.Expect(getSts(g, te.k8s, ns, "tk-slaves").ResourceVersion).To(gomega.Equal(slavesRV))
		err := te.k8s.Get(ctx, key, &corev1.Secret{})
		g.Expect(client.IgnoreNotFound(err)).To(gomega.Succeed())
		g.Expect(err).To(gomega.HaveOccurred(), "no token may be generated without the user asking")
	})
	eventually(t, func(g gomega.Gomega) { g.Expect(countEvents(t, te, ns, ReasonEventTokenMissing)).To(gomega.Equal(1)) })

	// The user asks for a new token.
	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		if cur.Annotations == nil {
			cur.Annotations = map[string]string{}
		}
		cur.Annotations[lotouv1alpha1.AnnotationRegenerateToken] = "true"
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	var second corev1.Secret
	eventually(t, func(g gomega.Gomega) {
		g.Expect(te.k8s.Get(ctx, key, &second)).To(gomega.Succeed())
		g.Expect(second.Data[resources.TokenKey]).NotTo(gomega.Equal(first.Data[resources.TokenKey]))
		want := resources.TokenHash(second.Data[resources.TokenKey])
		for _, name := range []string{"tk-master", "tk-slaves"} {
			g.Expect(tokenHashOf(getSts(g, te.k8s, ns, name))).To(gomega.Equal(want), name)
		}
		got := getLC(g, te.k8s, lc)
		g.Expect(got.Annotations).NotTo(gomega.HaveKey(lotouv1alpha1.AnnotationRegenerateToken))
		g.Expect(condition(got, lotouv1alpha1.ConditionTokenMissing)).To(gomega.Equal("False/TokenPresent"))
	})
	eventually(t, func(g gomega.Gomega) {
		g.Expect(countEvents(t, te, ns, ReasonEventTokenChanged)).To(gomega.BeNumerically(">=", 2), "one TokenChanged per role")
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
