package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/lotou-io/lotou/controllers/resources"
)

// reconcileServices applies the ClusterIP Service of the master and the
// headless Service that gives every pod its DNS name.
func (r *LotouClusterReconciler) reconcileServices(ctx context.Context, s *scope) (ctrl.Result, error) {
	for _, desired := range []*corev1.Service{resources.MasterService(s.cluster), resources.NodesService(s.cluster)} {
		live := &corev1.Service{}
		res, err := r.apply(ctx, desired, live)
		if err != nil {
			return ctrl.Result{}, err
		}
		r.reportApply(s, live, res)
	}
	return ctrl.Result{}, nil
}
