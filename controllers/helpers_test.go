package controllers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

const (
	waitTimeout = 20 * time.Second
	pollEvery   = 50 * time.Millisecond
)

func newLotouCluster(ns, name string, slaves int32) *lotouv1alpha1.LotouCluster {
	return &lotouv1alpha1.LotouCluster{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: lotouv1alpha1.LotouClusterSpec{
			Image:    "lotou-node:dev",
			Services: []string{contract.EchoService},
			Slaves:   lotouv1alpha1.SlavesSpec{Replicas: ptr.To(slaves)},
		},
	}
}

// eventually polls fn until it returns nil or the timeout passes.
func eventually(t *testing.T, fn func(g gomega.Gomega)) {
	t.Helper()
	gomega.NewWithT(t).Eventually(fn).WithTimeout(waitTimeout).WithPolling(pollEvery).Should(gomega.Succeed())
}

// consistently checks fn keeps passing for d.
func consistently(t *testing.T, d time.Duration, fn func(g gomega.Gomega)) {
	t.Helper()
	gomega.NewWithT(t).Consistently(fn).WithTimeout(d).WithPolling(100 * time.Millisecond).Should(gomega.Succeed())
}

func getSts(g gomega.Gomega, c client.Client, ns, name string) *appsv1.StatefulSet {
	sts := &appsv1.StatefulSet{}
	g.Expect(c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, sts)).To(gomega.Succeed())
	return sts
}

func getLC(g gomega.Gomega, c client.Client, lc *lotouv1alpha1.LotouCluster) *lotouv1alpha1.LotouCluster {
	out := &lotouv1alpha1.LotouCluster{}
	g.Expect(c.Get(context.Background(), client.ObjectKeyFromObject(lc), out)).To(gomega.Succeed())
	return out
}

// condition returns "Status/Reason" of a condition, "" if absent.
func condition(lc *lotouv1alpha1.LotouCluster, t string) string {
	c := meta.FindStatusCondition(lc.Status.Conditions, t)
	if c == nil {
		return ""
	}
	return fmt.Sprintf("%s/%s", c.Status, c.Reason)
}

// simulateRollout plays the StatefulSet controller: it marks the
// StatefulSet's current spec as rolled out with ready pods ready.
func simulateRollout(t *testing.T, c client.Client, ns, name string, ready int32) {
	t.Helper()
	eventually(t, func(g gomega.Gomega) {
		sts := getSts(g, c, ns, name)
		n := ptr.Deref(sts.Spec.Replicas, 1)
		rev := fmt.Sprintf("%s-%d", name, sts.Generation)
		sts.Status = appsv1.StatefulSetStatus{
			ObservedGeneration: sts.Generation,
			Replicas:           n,
			ReadyReplicas:      ready,
			AvailableReplicas:  ready,
			CurrentReplicas:    n,
			UpdatedReplicas:    n,
			CurrentRevision:    rev,
			UpdateRevision:     rev,
		}
		g.Expect(c.Status().Update(context.Background(), sts)).To(gomega.Succeed())
	})
}

// upView is a /cluster view where the master and n slaves are up.
func upView(name string, n int) *contract.ClusterView {
	v := &contract.ClusterView{Self: name + "-master-0", Role: contract.RoleMaster}
	v.Nodes = append(v.Nodes, contract.NodeInfo{ID: 1, Name: name + "-master-0", Role: contract.RoleMaster, Up: true})
	for i := range n {
		node := fmt.Sprintf("%s-slaves-%d", name, i)
		v.Nodes = append(v.Nodes, contract.NodeInfo{ID: uint16(i + 2), Name: node, Role: contract.RoleSlave, Up: true})
		v.Globals = append(v.Globals, contract.GlobalName{Name: contract.EchoName(node), ID: uint64(i + 2)})
	}
	return v
}
