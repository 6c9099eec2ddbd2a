package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/membership"
)

// Defaults of the reconciler's Options.
const (
	DefaultMembershipRetry  = 15 * time.Second
	DefaultResyncPeriod     = time.Minute
	DefaultProgressDeadline = 5 * time.Minute
)

// Options tune a LotouClusterReconciler. Zero values take the defaults above.
type Options struct {
	// MaxConcurrentReconciles is how many LotouClusters are reconciled at once.
	MaxConcurrentReconciles int
	// MembershipRetry is the delay before reading an unreachable master's
	// /cluster again.
	MembershipRetry time.Duration
	// ResyncPeriod is how often a cluster with a ready master is
	// reconciled to refresh its membership status.
	ResyncPeriod time.Duration
	// ProgressDeadline is how long a cluster may progress before pods that
	// never became ready mark it Degraded.
	ProgressDeadline time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// LotouClusterReconciler makes the objects of every LotouCluster match its
// spec and reports their state in its status.
type LotouClusterReconciler struct {
	// Client reads through the manager's cache and writes to the API server.
	Client client.Client
	// Recorder emits Events on LotouClusters; nil disables events.
	Recorder events.EventRecorder
	// Membership reads the master's /cluster view; nil skips membership.
	Membership membership.Reader
	// APIReader reads around the cache where a stale read would be harmful;
	// nil means Client.
	APIReader client.Reader
	// Metrics records the operator's metrics; nil records nothing.
	Metrics *Metrics
	// Options tune the reconciler.
	Options Options
}

// scope carries one reconcile's cluster and what its phases observed.
type scope struct {
	cluster *lotouv1alpha1.LotouCluster
	obs     observation
	// masterSts and slavesSts are the StatefulSets as applied or read.
	masterSts, slavesSts *appsv1.StatefulSet
	// masterSeen and slavesSeen are set once a phase has read or applied them.
	masterSeen, slavesSeen bool
	// created lists the objects created in this reconcile, for one event.
	created []string
	// tokenHash is resources.TokenHash of the token in the Secret, set by
	// the token phase and put on both pod templates.
	tokenHash string
}

// phase is one step of a reconcile.
type phase func(ctx context.Context, s *scope) (ctrl.Result, error)

// +kubebuilder:rbac:groups=apps.lotou.io,resources=lotouclusters,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=apps.lotou.io,resources=lotouclusters/status,verbs=get;patch
// +kubebuilder:rbac:groups=apps.lotou.io,resources=lotouclusters/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=services;secrets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=services,verbs=delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=pods;events,verbs=list

// Reconcile runs the phases for one LotouCluster and patches its status once.
func (r *LotouClusterReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := ctrl.LoggerFrom(ctx)
	lc := &lotouv1alpha1.LotouCluster{}
	if err := r.Client.Get(ctx, req.NamespacedName, lc); err != nil {
		r.Metrics.forgetIfNotFound(req.NamespacedName, err)
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !lc.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // owner references let the garbage collector remove the children
	}
	s := &scope{cluster: lc, obs: observation{Paused: lc.Spec.Paused}}
	phases := []phase{r.reconcileToken, r.reconcileServices, r.reconcileSlaves, r.reconcileMaster, r.reconcilePDBs}
	phases = append(phases, r.reconcileNetworkPolicy)
	if lc.Spec.Paused {
		phases = []phase{r.observeStatefulSets}
	}
	phases = append(phases, r.reconcileStall, r.reconcileMembership)

	var result ctrl.Result
	var phaseErr error
	for _, p := range phases {
		res, err := p(ctx, s)
		if err != nil {
			r.Metrics.reconcileError(p)
			phaseErr = err
			break
		}
		result = lowerResult(result, res)
		if s.obs.TokenMissing {
			break // change nothing until the user restores the Secret or asks for a new token
		}
	}
	r.reportCreated(s)
	if phaseErr != nil || s.obs.TokenMissing {
		if _, err := r.observeStatefulSets(ctx, s); err != nil {
			log.Error(err, "Observing StatefulSets after a stopped reconcile")
		}
	}
	if phaseErr != nil {
		s.obs.ReconcileErr = phaseErr
		log.Error(phaseErr, "Reconcile failed")
		r.event(lc, nil, corev1.EventTypeWarning, ReasonEventFailed, "Reconcile", "Reconcile failed: %v", phaseErr)
	}
	if err := r.patchStatus(ctx, s); err != nil {
		return ctrl.Result{}, errors.Join(phaseErr, err)
	}
	if !s.obs.Paused && (!s.obs.Master.IsReady() || !s.obs.Slaves.IsReady()) {
		// Re-evaluate Degraded when the progress deadline passes.
		result = lowerResult(result, ctrl.Result{RequeueAfter: untilDeadline(lc, r.statusInput())})
	}
	return result, phaseErr
}

// patchStatus computes the status from the scope and writes it with one
// merge patch, skipped when nothing changed.
func (r *LotouClusterReconciler) patchStatus(ctx context.Context, s *scope) error {
	lc := s.cluster
	orig := lc.DeepCopy()
	computeStatus(lc, s.obs, r.statusInput())
	r.Metrics.observe(orig, lc, r.now())
	if equality.Semantic.DeepEqual(orig.Status, lc.Status) {
		return nil
	}
	r.reportConditions(orig, lc)
	if err := r.Client.Status().Patch(ctx, lc, client.MergeFrom(orig)); err != nil {
		return fmt.Errorf("patching status of LotouCluster %s/%s: %w", lc.Namespace, lc.Name, err)
	}
	return nil
}

// SetupWithManager registers the reconciler and its watches: the
// LotouCluster itself (spec changes only) and every kind of object it owns.
func (r *LotouClusterReconciler) SetupWithManager(mgr ctrl.Manager) error {
	mcr := r.Options.MaxConcurrentReconciles
	if mcr <= 0 {
		mcr = 1
	}
	return ctrl.NewControllerManagedBy(mgr).
		// Status patches (ours) do not bump the generation and need no reconcile.
		// Annotations: lotou.io/regenerate-token asks for a new token.
		For(&lotouv1alpha1.LotouCluster{}, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&appsv1.StatefulSet{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.Secret{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&networkingv1.NetworkPolicy{}).
		WithOptions(controller.Options{MaxConcurrentReconciles: mcr}).
		Named("lotoucluster").
		Complete(r)
}

func (r *LotouClusterReconciler) apiReader() client.Reader {
	if r.APIReader != nil {
		return r.APIReader
	}
	return r.Client
}

func (r *LotouClusterReconciler) now() time.Time {
	if r.Options.Now != nil {
		return r.Options.Now()
	}
	return time.Now()
}

func (r *LotouClusterReconciler) statusInput() statusInput {
	return statusInput{Now: r.now(), ProgressDeadline: r.progressDeadline()}
}

func (r *LotouClusterReconciler) progressDeadline() time.Duration {
	return orDefault(r.Options.ProgressDeadline, DefaultProgressDeadline)
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// lowerResult merges two results, keeping the sooner requeue.
func lowerResult(a, b ctrl.Result) ctrl.Result {
	switch {
	case a.RequeueAfter == 0:
		return b
	case b.RequeueAfter == 0:
		return a
	case b.RequeueAfter < a.RequeueAfter:
		return b
	}
	return a
}
