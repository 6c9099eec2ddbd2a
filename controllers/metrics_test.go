package controllers

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

func metricsCluster(name string, slaves int32, conds ...metav1.Condition) *lotouv1alpha1.LotouCluster {
	lc := &lotouv1alpha1.LotouCluster{ObjectMeta: metav1.ObjectMeta{Namespace: "games", Name: name}}
	lc.Spec.Slaves.Replicas = ptr.To(slaves)
	lc.Status.Conditions = conds
	return lc
}

func condAt(t, status, reason string, at time.Time) metav1.Condition {
	return metav1.Condition{Type: t, Status: metav1.ConditionStatus(status), Reason: reason, LastTransitionTime: metav1.NewTime(at)}
}

func TestClusterPhase(t *testing.T) {
	now := time.Now()
	paused := metricsCluster("p", 1, condAt(lotouv1alpha1.ConditionReady, "True", "Ready", now))
	paused.Spec.Paused = true
	tests := []struct {
		name string
		lc   *lotouv1alpha1.LotouCluster
		want string
	}{
		{"no conditions", metricsCluster("a", 1), PhaseProgressing},
		{"ready", metricsCluster("a", 1, condAt(lotouv1alpha1.ConditionReady, "True", "Ready", now)), PhaseReady},
		{"degraded wins over ready", metricsCluster("a", 1, condAt(lotouv1alpha1.ConditionReady, "True", "Ready", now),
			condAt(lotouv1alpha1.ConditionDegraded, "True", "SlavesNotReady", now)), PhaseDegraded},
		{"not ready", metricsCluster("a", 1, condAt(lotouv1alpha1.ConditionReady, "False", "MasterNotReady", now)), PhaseProgressing},
		{"paused wins", paused, PhasePaused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clusterPhase(tt.lc); got != tt.want {
				t.Errorf("phase = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestMetricsObserve(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewMetrics(reg); err == nil {
		t.Error("registering twice on one registry must fail")
	}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	progressing := condAt(lotouv1alpha1.ConditionProgressing, "True", "Creating", start)
	before := metricsCluster("a", 3, progressing)
	after := metricsCluster("a", 3,
		condAt(lotouv1alpha1.ConditionProgressing, "False", lotouv1alpha1.ReasonReconciled, start.Add(90*time.Second)),
		condAt(lotouv1alpha1.ConditionReady, "True", "Ready", start.Add(90*time.Second)))
	after.Status.ReadySlaves = 3
	after.Status.RegisteredNodes = []lotouv1alpha1.RegisteredNode{{Name: "m", Up: true}, {Name: "s0", Up: true}, {Name: "s1", Up: false}}
	m.observe(before, after, start.Add(90*time.Second))
	m.observe(metricsCluster("b", 1), metricsCluster("b", 1, progressing), start)

	want := `
# HELP lotou_operator_clusters LotouClusters by phase: Ready, Progressing, Degraded or Paused.
# TYPE lotou_operator_clusters gauge
lotou_operator_clusters{phase="Degraded"} 0
lotou_operator_clusters{phase="Paused"} 0
lotou_operator_clusters{phase="Progressing"} 1
lotou_operator_clusters{phase="Ready"} 1
# HELP lotou_operator_cluster_ready_slaves Ready slave pods of each LotouCluster (status.readySlaves).
# TYPE lotou_operator_cluster_ready_slaves gauge
lotou_operator_cluster_ready_slaves{name="a",namespace="games"} 3
lotou_operator_cluster_ready_slaves{name="b",namespace="games"} 0
# HELP lotou_operator_cluster_registered_nodes Nodes the master of each LotouCluster sees as up, master included (status.registeredNodes).
# TYPE lotou_operator_cluster_registered_nodes gauge
lotou_operator_cluster_registered_nodes{name="a",namespace="games"} 2
lotou_operator_cluster_registered_nodes{name="b",namespace="games"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), MetricClusters, MetricReadySlaves, MetricRegisteredNodes); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.rolloutDuration); n != 1 {
		t.Fatalf("rollout histogram series = %d", n)
	}
	var sum float64
	fams, _ := reg.Gather()
	for _, f := range fams {
		if f.GetName() == MetricRolloutDuration {
			h := f.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 1 {
				t.Errorf("rollouts observed = %d, want 1 (only a's Progressing went True→False/Reconciled)", h.GetSampleCount())
			}
			sum = h.GetSampleSum()
		}
	}
	if sum != 90 {
		t.Errorf("rollout duration = %vs, want 90s", sum)
	}

	// A deleted cluster's series disappear; other errors keep them.
	gone := apierrors.NewNotFound(schema.GroupResource{Group: "apps.lotou.io", Resource: "lotouclusters"}, "b")
	m.membershipReadFailed(metricsCluster("b", 1))
	m.forgetIfNotFound(types.NamespacedName{Namespace: "games", Name: "a"}, errors.New("timeout"))
	m.forgetIfNotFound(types.NamespacedName{Namespace: "games", Name: "b"}, gone)
	if n := testutil.CollectAndCount(m, MetricReadySlaves); n != 1 {
		t.Errorf("ready-slaves series after deleting b = %d, want 1", n)
	}
	if n := testutil.CollectAndCount(m.membershipFailures); n != 0 {
		t.Errorf("membership failure series of deleted b = %d, want 0", n)
	}
}

func TestMetricsNilIsSafe(t *testing.T) {
	var m *Metrics
	lc := metricsCluster("a", 1)
	m.observe(lc, lc, time.Now())
	m.reconcileError(nil)
	m.membershipReadFailed(lc)
	m.forgetIfNotFound(types.NamespacedName{}, nil)
}

func TestPhaseName(t *testing.T) {
	r := &LotouClusterReconciler{}
	tests := []struct {
		p    phase
		want string
	}{
		{r.reconcileToken, "token"},
		{r.reconcileSlaves, "slaves"},
		{r.reconcileNetworkPolicy, "networkpolicy"},
		{r.reconcileMembership, "membership"},
		{r.observeStatefulSets, "observestatefulsets"},
		{func(context.Context, *scope) (ctrl.Result, error) { return ctrl.Result{}, nil }, "func1"},
	}
	for _, tt := range tests {
		if got := phaseName(tt.p); got != tt.want {
			t.Errorf("phaseName = %q, want %q", got, tt.want)
		}
	}
}

func TestReconcileErrorsByPhase(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	r := &LotouClusterReconciler{}
	m.reconcileError(r.reconcileSlaves)
	m.reconcileError(r.reconcileSlaves)
	m.reconcileError(r.reconcilePDBs)
	if got := testutil.ToFloat64(m.reconcileErrors.WithLabelValues("slaves")); got != 2 {
		t.Errorf("slaves errors = %v", got)
	}
	if got := testutil.ToFloat64(m.reconcileErrors.WithLabelValues("pdbs")); got != 1 {
		t.Errorf("pdbs errors = %v", got)
	}
}
