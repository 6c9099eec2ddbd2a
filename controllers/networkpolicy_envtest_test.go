package controllers

import (
	"context"
	"testing"
	"time"

	"github.com/onsi/gomega"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

// TestNetworkPolicyLifecycle: a LotouCluster gets its NetworkPolicy by
// default; scrapers added to the spec reach it; a deleted policy comes back;
// a settled policy is not rewritten; enabled=false deletes it.
func TestNetworkPolicyLifecycle(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	g := gomega.NewWithT(t)
	lc := newLotouCluster(ns, "np", 1)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	key := client.ObjectKey{Namespace: ns, Name: "np-nodes"}
	np := &networkingv1.NetworkPolicy{}
	eventually(t, func(g gomega.Gomega) {
		g.Expect(te.k8s.Get(ctx, key, np)).To(gomega.Succeed())
		g.Expect(metav1.IsControlledBy(np, getLC(g, te.k8s, lc))).To(gomega.BeTrue())
		g.Expect(np.Spec.Ingress).To(gomega.HaveLen(2))
	})

	// Settled: reconciles (forced by a spec change elsewhere) leave it alone.
	rv := np.ResourceVersion
	cur := getLC(g, te.k8s, lc)
	cur.Spec.Slaves.Replicas = ptr.To[int32](2)
	g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		g.Expect(getSts(g, te.k8s, ns, "np-slaves").Spec.Replicas).To(gomega.Equal(ptr.To[int32](2)))
	})
	consistently(t, 1500*time.Millisecond, func(g gomega.Gomega) {
		g.Expect(te.k8s.Get(ctx, key, np)).To(gomega.Succeed())
		g.Expect(np.ResourceVersion).To(gomega.Equal(rv), "an unchanged NetworkPolicy was written")
	})

	// A scraper in the spec is admitted to the HTTP port.
	cur = getLC(g, te.k8s, lc)
	cur.Spec.NetworkPolicy.Scrapers = []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
		MatchLabels: map[string]string{"kubernetes.io/metadata.name": "monitoring"}}}}
	g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		g.Expect(te.k8s.Get(ctx, key, np)).To(gomega.Succeed())
		g.Expect(np.Spec.Ingress[1].From).To(gomega.HaveLen(2))
	})

	// Deleted by someone: recreated.
	g.Expect(te.k8s.Delete(ctx, np)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		fresh := &networkingv1.NetworkPolicy{}
		g.Expect(te.k8s.Get(ctx, key, fresh)).To(gomega.Succeed())
		g.Expect(fresh.UID).NotTo(gomega.Equal(np.UID))
	})

	// Turned off: deleted, and not recreated.
	cur = getLC(g, te.k8s, lc)
	cur.Spec.NetworkPolicy.Enabled = ptr.To(false)
	g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		err := te.k8s.Get(ctx, key, &networkingv1.NetworkPolicy{})
		g.Expect(apierrors.IsNotFound(err)).To(gomega.BeTrue(), "NetworkPolicy still exists: %v", err)
	})
	g.Expect(resources.NetworkPolicyName(cur)).To(gomega.Equal(key.Name))
}

// TestNetworkPolicyDefaultsOn: the CRD defaults spec.networkPolicy.enabled
// to true.
func TestNetworkPolicyDefaultsOn(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	g := gomega.NewWithT(t)
	lc := newLotouCluster(ns, "npd", 0)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	got := &lotouv1alpha1.LotouCluster{}
	g.Expect(te.k8s.Get(ctx, client.ObjectKeyFromObject(lc), got)).To(gomega.Succeed())
	g.Expect(got.Spec.NetworkPolicy.Enabled).To(gomega.Equal(ptr.To(true)))
}
