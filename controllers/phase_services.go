package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// reconcileServices applies the ClusterIP Service of the master, the
// headless Service that gives every pod its DNS name and, when
// spec.gate.enabled, the gate Service in front of the slaves. A gate
// Service of ours is deleted when the gate is turned off.
func (r *LotouClusterReconciler) reconcileServices(ctx context.Context, s *scope) (ctrl.Result, error) {
	svcs := []*corev1.Service{resources.MasterService(s.cluster), resources.NodesService(s.cluster)}
	if s.cluster.GateEnabled() {
		svcs = append(svcs, resources.GateService(s.cluster))
	} else if err := r.deleteGateService(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	for _, desired := range svcs {
		live := &corev1.Service{}
		res, err := r.apply(ctx, desired, live)
		if err != nil {
			return ctrl.Result{}, err
		}
		r.reportApply(s, live, res)
	}
	return ctrl.Result{}, nil
}

// deleteGateService removes the gate Service if it exists and is ours.
func (r *LotouClusterReconciler) deleteGateService(ctx context.Context, s *scope) error {
	want := resources.GateService(s.cluster)
	live := &corev1.Service{}
	switch err := r.Client.Get(ctx, client.ObjectKeyFromObject(want), live); {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("getting Service %s: %w", want.Name, err)
	case !controlledBy(live, want):
		return nil // not ours: leave it
	}
	if err := r.Client.Delete(ctx, live, client.Preconditions{UID: &live.UID}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting Service %s: %w", want.Name, err)
	}
	r.event(s.cluster, live, corev1.EventTypeNormal, ReasonEventUpdated, "Delete", "Deleted Service %s: spec.gate is off", live.Name)
	return nil
}
