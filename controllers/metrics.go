package controllers

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// Cluster phases reported by lotou_operator_clusters, derived from the
// conditions in the order below (the first that applies wins).
const (
	PhasePaused      = "Paused"
	PhaseDegraded    = "Degraded"
	PhaseReady       = "Ready"
	PhaseProgressing = "Progressing"
)

// Names of the operator's metrics, served on the manager's /metrics next to
// controller-runtime's own (controller_runtime_reconcile_*, workqueue_*).
const (
	MetricClusters           = "lotou_operator_clusters"
	MetricReadySlaves        = "lotou_operator_cluster_ready_slaves"
	MetricDesiredSlaves      = "lotou_operator_cluster_desired_slaves"
	MetricRegisteredNodes    = "lotou_operator_cluster_registered_nodes"
	MetricReconcileErrors    = "lotou_operator_reconcile_errors_total"
	MetricMembershipFailures = "lotou_operator_membership_read_failures_total"
	MetricRolloutDuration    = "lotou_operator_rollout_duration_seconds"
)

// clusterSample is what the metrics keep of one LotouCluster.
type clusterSample struct {
	phase                      string
	ready, desired, registered float64
}

// Metrics are the operator's own Prometheus metrics: clusters by phase,
// ready slaves and registered nodes per cluster, reconcile errors by
// reconcile phase, membership read failures and rollout durations. The
// reconciler feeds them (a nil *Metrics records nothing); NewMetrics
// registers them, in the manager on controller-runtime's metrics.Registry.
type Metrics struct {
	mu       sync.Mutex
	clusters map[types.NamespacedName]clusterSample

	phaseDesc, readyDesc, desiredDesc, registeredDesc *prometheus.Desc
	reconcileErrors                                   *prometheus.CounterVec
	membershipFailures                                *prometheus.CounterVec
	rolloutDuration                                   prometheus.Histogram
}

// NewMetrics creates the operator's metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	nn := []string{"namespace", "name"}
	m := &Metrics{
		clusters: map[types.NamespacedName]clusterSample{},
		phaseDesc: prometheus.NewDesc(MetricClusters,
			"LotouClusters by phase: Ready, Progressing, Degraded or Paused.", []string{"phase"}, nil),
		readyDesc: prometheus.NewDesc(MetricReadySlaves,
			"Ready slave pods of each LotouCluster (status.readySlaves).", nn, nil),
		desiredDesc: prometheus.NewDesc(MetricDesiredSlaves,
			"Slaves each LotouCluster asks for (spec.slaves.replicas).", nn, nil),
		registeredDesc: prometheus.NewDesc(MetricRegisteredNodes,
			"Nodes the master of each LotouCluster sees as up, master included (status.registeredNodes).", nn, nil),
		reconcileErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricReconcileErrors,
			Help: "Failed reconciles by the reconcile phase that failed (token, services, slaves, master, pdbs, networkpolicy, ...).",
		}, []string{"phase"}),
		membershipFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricMembershipFailures,
			Help: "Failed reads of a master's /cluster endpoint, per LotouCluster.",
		}, nn),
		rolloutDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    MetricRolloutDuration,
			Help:    "Time from Progressing=True to the cluster matching its spec again (creation, scaling, rollouts).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 13), // 1 s .. ~68 min
		}),
	}
	if err := reg.Register(m); err != nil {
		return nil, fmt.Errorf("registering the operator metrics: %w", err)
	}
	return m, nil
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.phaseDesc
	ch <- m.readyDesc
	ch <- m.desiredDesc
	ch <- m.registeredDesc
	m.reconcileErrors.Describe(ch)
	m.membershipFailures.Describe(ch)
	m.rolloutDuration.Describe(ch)
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	phases := map[string]float64{PhaseReady: 0, PhaseProgressing: 0, PhaseDegraded: 0, PhasePaused: 0}
	for key, c := range m.clusters {
		phases[c.phase]++
		ch <- prometheus.MustNewConstMetric(m.readyDesc, prometheus.GaugeValue, c.ready, key.Namespace, key.Name)
		ch <- prometheus.MustNewConstMetric(m.desiredDesc, prometheus.GaugeValue, c.desired, key.Namespace, key.Name)
		ch <- prometheus.MustNewConstMetric(m.registeredDesc, prometheus.GaugeValue, c.registered, key.Namespace, key.Name)
	}
	m.mu.Unlock()
	for p, n := range phases {
		ch <- prometheus.MustNewConstMetric(m.phaseDesc, prometheus.GaugeValue, n, p)
	}
	m.reconcileErrors.Collect(ch)
	m.membershipFailures.Collect(ch)
	m.rolloutDuration.Collect(ch)
}

// clusterPhase names the phase of a LotouCluster from its spec and
// conditions.
func clusterPhase(lc *lotouv1alpha1.LotouCluster) string {
	switch {
	case lc.Spec.Paused:
		return PhasePaused
	case meta.IsStatusConditionTrue(lc.Status.Conditions, lotouv1alpha1.ConditionDegraded):
		return PhaseDegraded
	case meta.IsStatusConditionTrue(lc.Status.Conditions, lotouv1alpha1.ConditionReady):
		return PhaseReady
	}
	return PhaseProgressing
}

// observe records a LotouCluster whose status was just computed: before is
// the cluster as read, after with its new status. A Progressing condition
// that went from True to False with reason Reconciled ends a rollout,
// whose duration is observed.
func (m *Metrics) observe(before, after *lotouv1alpha1.LotouCluster, now time.Time) {
	if m == nil {
		return
	}
	registered := 0
	for _, n := range after.Status.RegisteredNodes {
		if n.Up {
			registered++
		}
	}
	m.mu.Lock()
	m.clusters[types.NamespacedName{Namespace: after.Namespace, Name: after.Name}] = clusterSample{
		phase:      clusterPhase(after),
		ready:      float64(after.Status.ReadySlaves),
		desired:    float64(after.GetSlaveReplicas()),
		registered: float64(registered),
	}
	m.mu.Unlock()
	was := meta.FindStatusCondition(before.Status.Conditions, lotouv1alpha1.ConditionProgressing)
	is := meta.FindStatusCondition(after.Status.Conditions, lotouv1alpha1.ConditionProgressing)
	if was != nil && was.Status == "True" && is != nil && is.Status == "False" && is.Reason == lotouv1alpha1.ReasonReconciled {
		m.rolloutDuration.Observe(now.Sub(was.LastTransitionTime.Time).Seconds())
	}
}

// forgetIfNotFound drops a deleted LotouCluster's series when err (from
// reading it) says it is gone.
func (m *Metrics) forgetIfNotFound(key types.NamespacedName, err error) {
	if m == nil || !apierrors.IsNotFound(err) {
		return
	}
	m.mu.Lock()
	delete(m.clusters, key)
	m.mu.Unlock()
	m.membershipFailures.DeleteLabelValues(key.Namespace, key.Name)
}

// reconcileError counts a reconcile that failed in phase p.
func (m *Metrics) reconcileError(p phase) {
	if m == nil {
		return
	}
	m.reconcileErrors.WithLabelValues(phaseName(p)).Inc()
}

// membershipReadFailed counts a failed read of lc's master /cluster.
func (m *Metrics) membershipReadFailed(lc *lotouv1alpha1.LotouCluster) {
	if m == nil {
		return
	}
	m.membershipFailures.WithLabelValues(lc.Namespace, lc.Name).Inc()
}

// phaseName turns a phase method value such as r.reconcileSlaves into its
// short name, "slaves".
func phaseName(p phase) string {
	name := runtime.FuncForPC(reflect.ValueOf(p).Pointer()).Name()
	name = strings.TrimSuffix(name, "-fm")
	name = name[strings.LastIndex(name, ".")+1:]
	return strings.ToLower(strings.TrimPrefix(name, "reconcile"))
}

// RecordForTest records lc as if it had just been reconciled, with one
// reconcile error and one membership failure, so that every metric has a
// series. It exists for tests outside this package (the dashboard test).
func RecordForTest(m *Metrics, lc *lotouv1alpha1.LotouCluster) {
	m.observe(lc, lc, time.Now())
	m.reconcileErrors.WithLabelValues("test").Inc()
	m.membershipReadFailed(lc)
	m.rolloutDuration.Observe(1)
}
