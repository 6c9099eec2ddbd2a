package controllers

import (
	"context"
	"testing"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
	"github.com/lotou-io/lotou/runtime/contract"
)

// TestChildrenEditedByHandAreReconciledBack: every kind of child, edited or
// deleted by hand, including edits that take it out of the operator's
// label-filtered cache, is put back without a spec change to wake the
// operator.
func TestChildrenEditedByHandAreReconciledBack(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "hand", 2)
	lc.Spec.Slaves.NodeSelector = map[string]string{"pool": "games"}
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	key := func(name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }
	eventually(t, func(g gomega.Gomega) {
		g.Expect(te.k8s.Get(ctx, key(resources.NetworkPolicyName(lc)), &networkingv1.NetworkPolicy{})).To(gomega.Succeed())
		g.Expect(te.k8s.Get(ctx, key(resources.SlavesName(lc)), &policyv1.PodDisruptionBudget{})).To(gomega.Succeed())
		getSts(g, te.k8s, ns, resources.MasterName(lc))
	})

	for _, tt := range []struct {
		name  string
		obj   client.Object
		edit  func(client.Object) // nil: delete
		check func(g gomega.Gomega, o client.Object)
	}{
		{"slaves PDB maxUnavailable", &policyv1.PodDisruptionBudget{}, func(o client.Object) {
			o.(*policyv1.PodDisruptionBudget).Spec.MaxUnavailable = ptr.To(intstr.FromInt32(0))
		}, func(g gomega.Gomega, o client.Object) {
			g.Expect(o.(*policyv1.PodDisruptionBudget).Spec.MaxUnavailable.IntValue()).To(gomega.Equal(1))
		}},
		{"network policy opened to all", &networkingv1.NetworkPolicy{}, func(o client.Object) {
			o.(*networkingv1.NetworkPolicy).Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{}}
		}, func(g gomega.Gomega, o client.Object) {
			for _, r := range o.(*networkingv1.NetworkPolicy).Spec.Ingress {
				g.Expect(r.From).NotTo(gomega.BeEmpty(), "an ingress rule admitting everyone")
			}
		}},
		{"master pod template's token hash removed", &appsv1.StatefulSet{}, func(o client.Object) {
			delete(o.(*appsv1.StatefulSet).Spec.Template.Annotations, resources.AnnotationTokenHash)
		}, func(g gomega.Gomega, o client.Object) {
			g.Expect(o.(*appsv1.StatefulSet).Spec.Template.Annotations).To(gomega.HaveKey(resources.AnnotationTokenHash))
		}},
		{"master service's managed-by label removed (leaves the cache)", &corev1.Service{}, func(o client.Object) {
			l := o.GetLabels()
			delete(l, resources.LabelManagedBy)
			o.SetLabels(l)
		}, func(g gomega.Gomega, o client.Object) {
			g.Expect(o.GetLabels()).To(gomega.HaveKeyWithValue(resources.LabelManagedBy, resources.ManagedBy))
		}},
		{"nodes service's selector changed", &corev1.Service{}, func(o client.Object) {
			o.(*corev1.Service).Spec.Selector = map[string]string{"app": "elsewhere"}
		}, func(g gomega.Gomega, o client.Object) {
			g.Expect(o.(*corev1.Service).Spec.Selector).To(gomega.HaveKeyWithValue(contract.LabelCluster, "hand"))
			g.Expect(o.(*corev1.Service).Spec.Selector).NotTo(gomega.HaveKey("app"))
		}},
		{"master service's selector narrowed by an added key", &corev1.Service{}, func(o client.Object) {
			o.(*corev1.Service).Spec.Selector["app"] = "elsewhere"
		}, func(g gomega.Gomega, o client.Object) {
			g.Expect(o.(*corev1.Service).Spec.Selector).NotTo(gomega.HaveKey("app"))
		}},
		{"slaves' nodeSelector given a key", &appsv1.StatefulSet{}, func(o client.Object) {
			o.(*appsv1.StatefulSet).Spec.Template.Spec.NodeSelector["zone"] = "nowhere"
		}, func(g gomega.Gomega, o client.Object) {
			g.Expect(o.(*appsv1.StatefulSet).Spec.Template.Spec.NodeSelector).To(gomega.Equal(map[string]string{"pool": "games"}))
		}},
		{"network policy deleted", &networkingv1.NetworkPolicy{}, nil, nil},
		{"master PDB deleted", &policyv1.PodDisruptionBudget{}, nil, nil},
		{"slaves StatefulSet deleted", &appsv1.StatefulSet{}, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := gomega.NewWithT(t)
			name := childName(lc, tt.name)
			g.Expect(te.k8s.Get(ctx, key(name), tt.obj)).To(gomega.Succeed())
			uid := tt.obj.GetUID()
			if tt.edit == nil {
				g.Expect(te.k8s.Delete(ctx, tt.obj)).To(gomega.Succeed())
				eventually(t, func(g gomega.Gomega) {
					g.Expect(te.k8s.Get(ctx, key(name), tt.obj)).To(gomega.Succeed())
					g.Expect(tt.obj.GetUID()).NotTo(gomega.Equal(uid))
				})
				return
			}
			eventually(t, func(g gomega.Gomega) {
				g.Expect(te.k8s.Get(ctx, key(name), tt.obj)).To(gomega.Succeed())
				tt.edit(tt.obj)
				g.Expect(te.k8s.Update(ctx, tt.obj, client.FieldOwner("kubectl-edit"))).To(gomega.Succeed())
			})
			eventually(t, func(g gomega.Gomega) {
				g.Expect(te.k8s.Get(ctx, key(name), tt.obj)).To(gomega.Succeed())
				tt.check(g, tt.obj)
			})
		})
	}
}

// childName maps the cases above to the object they edit.
func childName(lc *lotouv1alpha1.LotouCluster, c string) string {
	switch c {
	case "slaves PDB maxUnavailable", "slaves StatefulSet deleted", "slaves' nodeSelector given a key":
		return resources.SlavesName(lc)
	case "network policy opened to all", "network policy deleted":
		return resources.NetworkPolicyName(lc)
	case "nodes service's selector changed":
		return resources.NodesServiceName(lc)
	default:
		return resources.MasterName(lc)
	}
}

// TestDeleteAndRecreateAtOnce: a LotouCluster deleted and created again
// under the same name before the garbage collector removed the first one's
// children (envtest runs no garbage collector: the test plays it). The new
// cluster must not adopt the old children (NameConflict), and must come up
// with children of its own once they are gone.
func TestDeleteAndRecreateAtOnce(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	g := gomega.NewWithT(t)
	old := newLotouCluster(ns, "again", 1)
	g.Expect(te.k8s.Create(ctx, old)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		getSts(g, te.k8s, ns, "again-master")
		getSts(g, te.k8s, ns, "again-slaves")
	})
	g.Expect(te.k8s.Delete(ctx, old)).To(gomega.Succeed())
	lc := newLotouCluster(ns, "again", 3)
	eventually(t, func(g gomega.Gomega) { g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed()) })
	g.Expect(lc.UID).NotTo(gomega.Equal(old.UID))
	eventually(t, func(g gomega.Gomega) {
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionNameConflict)).To(gomega.Equal("True/NameConflict"))
	})

	// The garbage collector removes the old children, the token first.
	for _, o := range ownedBy(t, te, ns, old.UID) {
		g.Expect(client.IgnoreNotFound(te.k8s.Delete(ctx, o))).To(gomega.Succeed())
	}
	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(condition(got, lotouv1alpha1.ConditionNameConflict)).To(gomega.Equal("False/NoConflict"))
		g.Expect(condition(got, lotouv1alpha1.ConditionTokenMissing)).To(gomega.Equal("False/TokenPresent"))
		sts := getSts(g, te.k8s, ns, "again-slaves")
		g.Expect(*sts.Spec.Replicas).To(gomega.Equal(int32(3)))
		g.Expect(sts.OwnerReferences).To(gomega.ContainElement(gomega.HaveField("UID", lc.UID)))
		var sec corev1.Secret
		g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "again-token"}, &sec)).To(gomega.Succeed())
		g.Expect(sec.OwnerReferences).To(gomega.ContainElement(gomega.HaveField("UID", lc.UID)))
	})
}

// ownedBy lists the objects of the operator's kinds in ns whose controller
// is uid, the token Secret first.
func ownedBy(t *testing.T, te *testEnv, ns string, uid types.UID) []client.Object {
	t.Helper()
	g := gomega.NewWithT(t)
	var out []client.Object
	lists := []client.ObjectList{&corev1.SecretList{}, &corev1.ServiceList{}, &appsv1.StatefulSetList{},
		&policyv1.PodDisruptionBudgetList{}, &networkingv1.NetworkPolicyList{}}
	for _, l := range lists {
		g.Expect(te.k8s.List(context.Background(), l, client.InNamespace(ns))).To(gomega.Succeed())
		items, err := apimeta.ExtractList(l)
		g.Expect(err).NotTo(gomega.HaveOccurred())
		for _, it := range items {
			o := it.(client.Object)
			if ref := metav1.GetControllerOf(o); ref != nil && ref.UID == uid {
				out = append(out, o)
			}
		}
	}
	g.Expect(out).NotTo(gomega.BeEmpty())
	return out
}
