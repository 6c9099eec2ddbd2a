package controllers

import (
	"context"

	policyv1 "k8s.io/api/policy/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/lotou-io/lotou/controllers/resources"
)

// reconcilePDBs applies one PodDisruptionBudget per role: the master is
// protected from voluntary eviction, slaves are limited by maxUnavailable.
func (r *LotouClusterReconciler) reconcilePDBs(ctx context.Context, s *scope) (ctrl.Result, error) {
	for _, desired := range []*policyv1.PodDisruptionBudget{resources.MasterPDB(s.cluster), resources.SlavesPDB(s.cluster)} {
		live := &policyv1.PodDisruptionBudget{}
		res, err := r.apply(ctx, desired, live)
		if err != nil {
			return ctrl.Result{}, err
		}
		r.reportApply(s, live, res)
	}
	return ctrl.Result{}, nil
}
