package controllers

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/onsi/gomega"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
	"github.com/lotou-io/lotou/runtime/contract"
)

// TestLargeMembershipStillReported: a master whose /cluster lists the most
// nodes and global names the status takes, with long names (1 KiB global
// names are legal on the wire; a token holder can register them). The
// status used to hold them all, above the API server's request size, so
// the status patch failed on every reconcile and the cluster reported
// nothing at all, conditions included.
func TestLargeMembershipStillReported(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "big", 1)
	view := upView("big", 1)
	for i := range 1100 {
		view.Nodes = append(view.Nodes, contract.NodeInfo{ID: uint16(100 + i), Name: fmt.Sprintf("%s-%04d", strings.Repeat("n", 240), i),
			Addr: strings.Repeat("a", 1000), Role: contract.RoleSlave, Up: true})
	}
	for i := range 5000 {
		view.Globals = append(view.Globals, contract.GlobalName{Name: fmt.Sprintf("%s-%04d", strings.Repeat("g", 1000), i), ID: uint64(i)})
	}
	te.members.set(resources.ClusterURL(lc), view, nil)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) { getSts(g, te.k8s, ns, "big-master"); getSts(g, te.k8s, ns, "big-slaves") })
	simulateRollout(t, te.k8s, ns, "big-master", 1)
	simulateRollout(t, te.k8s, ns, "big-slaves", 1)
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(got.Status.Membership).NotTo(gomega.BeNil())
		g.Expect(got.Status.RegisteredNodes).NotTo(gomega.BeEmpty())
		g.Expect(got.Status.GlobalServices).NotTo(gomega.BeEmpty())
		g.Expect(condition(got, lotouv1alpha1.ConditionMasterReady)).To(gomega.Equal("True/Ready"))
	})
}
