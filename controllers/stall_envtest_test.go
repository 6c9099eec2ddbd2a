package controllers

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
	"github.com/lotou-io/lotou/runtime/contract"
)

// recordedEvents is an events.EventRecorder that keeps what it is given.
type recordedEvents struct {
	mu    sync.Mutex
	notes []string // "Type Reason: note"
}

func (r *recordedEvents) Eventf(_ runtime.Object, _ runtime.Object, eventtype, reason, _, note string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, eventtype+" "+reason+": "+fmt.Sprintf(note, args...))
}

func (r *recordedEvents) with(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, n := range r.notes {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

// TestStalledRolloutIsDegraded plays a rollout that never finishes: a new
// image whose slave pod cannot be pulled, and a master pod refused by
// admission (only a FailedCreate event says so). Past the progress deadline
// (a reconciler whose clock runs 10 minutes ahead), the cluster is Degraded
// with RolloutStalled, the condition names the pods' reasons, and one
// Warning event says the same.
func TestStalledRolloutIsDegraded(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	lc := newLotouCluster(ns, "st", 1)
	g := gomega.NewWithT(t)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) { getSts(g, te.k8s, ns, "st-master"); getSts(g, te.k8s, ns, "st-slaves") })
	eventually(t, func(g gomega.Gomega) {
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionProgressing)).To(gomega.HavePrefix("True/"))
	})

	// The slave pod waits on its image; the master pod was refused.
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "st-slaves-0", Labels: resources.SelectorLabels(lc, contract.RoleSlave)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: resources.ContainerName, Image: "lotou-node:typo"}}},
	}
	g.Expect(te.k8s.Create(ctx, pod)).To(gomega.Succeed())
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: resources.ContainerName, State: corev1.ContainerState{
		Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "lotou-node:typo"`},
	}}}
	g.Expect(te.k8s.Status().Update(ctx, pod)).To(gomega.Succeed())
	refused := `create Pod st-master-0 in StatefulSet st-master failed error: pods "st-master-0" is forbidden: violates PodSecurity "restricted:latest"`
	g.Expect(te.k8s.Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: "st-master.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "StatefulSet", Namespace: ns, Name: "st-master", APIVersion: "apps/v1"},
		Reason:         "FailedCreate", Message: refused, Type: corev1.EventTypeWarning,
		LastTimestamp: metav1.Now(), Source: corev1.EventSource{Component: "statefulset-controller"},
	})).To(gomega.Succeed())

	rec := &recordedEvents{}
	late := &LotouClusterReconciler{
		Client: te.k8s, APIReader: te.k8s, Recorder: rec,
		Options: Options{Now: func() time.Time { return time.Now().Add(10 * time.Minute) }},
	}
	req := ctrl.Request{NamespacedName: client.ObjectKeyFromObject(lc)}
	_, err := late.Reconcile(ctx, req)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	got := getLC(g, te.k8s, lc)
	g.Expect(condition(got, lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("True/RolloutStalled"))
	msg := degradedMessage(got)
	g.Expect(msg).To(gomega.ContainSubstring("ImagePullBackOff"))
	g.Expect(msg).To(gomega.ContainSubstring("lotou-node:typo"))
	g.Expect(msg).To(gomega.ContainSubstring("FailedCreate"))
	g.Expect(msg).To(gomega.ContainSubstring(`violates PodSecurity "restricted:latest"`))
	g.Expect(rec.with("Warning " + ReasonEventRolloutStalled)).To(gomega.HaveLen(1))

	// Reconciling again keeps it Degraded without a second event.
	_, err = late.Reconcile(ctx, req)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("True/RolloutStalled"))
	g.Expect(rec.with("Warning " + ReasonEventRolloutStalled)).To(gomega.HaveLen(1))

	// Once both roles are ready, Degraded clears.
	simulateRollout(t, te.k8s, ns, "st-master", 1)
	simulateRollout(t, te.k8s, ns, "st-slaves", 1)
	eventually(t, func(g gomega.Gomega) {
		_, err := late.Reconcile(ctx, req)
		g.Expect(err).NotTo(gomega.HaveOccurred())
		g.Expect(condition(getLC(g, te.k8s, lc), lotouv1alpha1.ConditionDegraded)).To(gomega.Equal("False/AsExpected"))
	})
}

func degradedMessage(lc *lotouv1alpha1.LotouCluster) string {
	for _, c := range lc.Status.Conditions {
		if c.Type == lotouv1alpha1.ConditionDegraded {
			return c.Message
		}
	}
	return ""
}
