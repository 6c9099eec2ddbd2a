package controllers

import (
	"context"
	"testing"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
	"github.com/lotou-io/lotou/runtime/contract"
)

func TestCreateMakesChildrenWiredToContract(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "demo", 3)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())

	children := map[string]client.Object{
		"demo-token":  &corev1.Secret{},
		"demo-master": &corev1.Service{},
		"demo-nodes":  &corev1.Service{},
		"demo-slaves": &appsv1.StatefulSet{},
	}
	eventually(t, func(g gomega.Gomega) {
		for name, obj := range children {
			g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj)).To(gomega.Succeed(), name)
		}
	})
	var masterSts appsv1.StatefulSet
	var masterPDB, slavesPDB policyv1.PodDisruptionBudget
	eventually(t, func(g gomega.Gomega) {
		g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "demo-master"}, &masterSts)).To(gomega.Succeed())
		g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "demo-master"}, &masterPDB)).To(gomega.Succeed())
		g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "demo-slaves"}, &slavesPDB)).To(gomega.Succeed())
	})
	all := []client.Object{&masterSts, &masterPDB, &slavesPDB}
	for _, o := range children {
		all = append(all, o)
	}
	stored := getLC(g, te.k8s, lc)
	for _, o := range all {
		refs := o.GetOwnerReferences()
		g.Expect(refs).To(gomega.HaveLen(1), o.GetName())
		g.Expect(refs[0].UID).To(gomega.Equal(stored.UID), o.GetName())
		g.Expect(*refs[0].Controller).To(gomega.BeTrue())
		g.Expect(o.GetLabels()).To(gomega.HaveKeyWithValue(contract.LabelCluster, "demo"))
	}

	token := children["demo-token"].(*corev1.Secret).Data[resources.TokenKey]
	g.Expect(token).To(gomega.HaveLen(2 * tokenBytes))

	nodes := children["demo-nodes"].(*corev1.Service)
	g.Expect(nodes.Spec.ClusterIP).To(gomega.Equal(corev1.ClusterIPNone))
	g.Expect(nodes.Spec.PublishNotReadyAddresses).To(gomega.BeTrue())
	g.Expect(children["demo-master"].(*corev1.Service).Spec.Selector).To(gomega.HaveKeyWithValue(contract.LabelRole, contract.RoleMaster))

	slaves := children["demo-slaves"].(*appsv1.StatefulSet)
	g.Expect(*slaves.Spec.Replicas).To(gomega.Equal(int32(3)))
	g.Expect(*masterSts.Spec.Replicas).To(gomega.Equal(int32(1)))
	env := map[string]corev1.EnvVar{}
	for _, e := range slaves.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	g.Expect(env[contract.EnvRole].Value).To(gomega.Equal(contract.RoleSlave))
	g.Expect(env[contract.EnvMaster].Value).To(gomega.Equal("demo-master." + ns + ".svc:4000"))
	g.Expect(env[contract.EnvAdvertise].Value).To(gomega.Equal("$(POD_NAME).demo-nodes." + ns + ".svc:4000"))
	g.Expect(env[contract.EnvServices].Value).To(gomega.Equal("echo"))
	g.Expect(env[contract.EnvHTTP].Value).To(gomega.Equal(":8080"))
	g.Expect(env).NotTo(gomega.HaveKey(contract.EnvClusterToken))
	g.Expect(env[contract.EnvTokenFile].Value).To(gomega.Equal(resources.TokenFilePath))
	g.Expect(slaves.Spec.Template.Spec.Volumes).To(gomega.ContainElement(gomega.HaveField("VolumeSource.Secret.SecretName", "demo-token")))
	g.Expect(env[contract.EnvNodeName].ValueFrom.FieldRef.FieldPath).To(gomega.Equal("metadata.name"))
	g.Expect(slaves.Spec.Template.Spec.Containers[0].ImagePullPolicy).To(gomega.Equal(corev1.PullIfNotPresent))
	g.Expect(*slaves.Spec.Template.Spec.TerminationGracePeriodSeconds).To(gomega.BeNumerically(">=", 30))

	eventually(t, func(g gomega.Gomega) {
		got := getLC(g, te.k8s, lc)
		g.Expect(got.Status.ObservedGeneration).To(gomega.Equal(got.Generation))
		g.Expect(got.Status.Selector).To(gomega.Equal("lotou.io/cluster=demo,lotou.io/role=slave"))
		g.Expect(got.Status.MasterEndpoint).To(gomega.Equal("demo-master." + ns + ".svc:4000"))
		g.Expect(condition(got, lotouv1alpha1.ConditionProgressing)).To(gomega.HavePrefix("True/"))
		g.Expect(condition(got, lotouv1alpha1.ConditionReady)).To(gomega.HavePrefix("False/"))
		for _, c := range got.Status.Conditions {
			g.Expect(c.ObservedGeneration).To(gomega.Equal(got.Generation), c.Type)
		}
	})
	eventually(t, func(g gomega.Gomega) {
		var evs eventsv1.EventList
		g.Expect(te.k8s.List(ctx, &evs, client.InNamespace(ns))).To(gomega.Succeed())
		var notes string
		for _, e := range evs.Items {
			if e.Reason == ReasonEventCreated && e.Regarding.Name == "demo" {
				notes += e.Note + "\n"
			}
		}
		for _, obj := range []string{"Secret demo-token", "Service demo-master", "Service demo-nodes", "StatefulSet demo-slaves",
			"StatefulSet demo-master", "PodDisruptionBudget demo-master", "PodDisruptionBudget demo-slaves"} {
			g.Expect(notes).To(gomega.ContainSubstring(obj))
		}
	})
}

func TestTokenIsKept(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "keep", 1)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	key := client.ObjectKey{Namespace: ns, Name: "keep-token"}
	var first corev1.Secret
	eventually(t, func(g gomega.Gomega) { g.Expect(te.k8s.Get(ctx, key, &first)).To(gomega.Succeed()) })

	eventually(t, func(g gomega.Gomega) {
		cur := getLC(g, te.k8s, lc)
		cur.Spec.Services = []string{"echo", "chat"}
		g.Expect(te.k8s.Update(ctx, cur)).To(gomega.Succeed())
	})
	eventually(t, func(g gomega.Gomega) {
		sts := getSts(g, te.k8s, ns, "keep-slaves")
		g.Expect(sts.Spec.Template.Spec.Containers[0].Env).To(gomega.ContainElement(corev1.EnvVar{Name: contract.EnvServices, Value: "echo,chat"}))
	})
	var after corev1.Secret
	g.Expect(te.k8s.Get(ctx, key, &after)).To(gomega.Succeed())
	g.Expect(after.Data[resources.TokenKey]).To(gomega.Equal(first.Data[resources.TokenKey]))
}
