package controllers

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// observeStatefulSets reads the StatefulSets a reconcile did not apply: all
// of them when paused, the rest when a phase failed early. It changes nothing.
func (r *LotouClusterReconciler) observeStatefulSets(ctx context.Context, s *scope) (ctrl.Result, error) {
	lc := s.cluster
	if !s.slavesSeen {
		sts, err := r.cachedStatefulSet(ctx, client.ObjectKey{Namespace: lc.Namespace, Name: resources.SlavesName(lc)})
		if err != nil {
			return ctrl.Result{}, err
		}
		s.slavesSts, s.slavesSeen = sts, true
		s.obs.Slaves = observeStatefulSet(sts, lc.GetSlaveReplicas())
	}
	if !s.masterSeen {
		sts, err := r.cachedStatefulSet(ctx, client.ObjectKey{Namespace: lc.Namespace, Name: resources.MasterName(lc)})
		if err != nil {
			return ctrl.Result{}, err
		}
		s.masterSts, s.masterSeen = sts, true
		s.obs.Master = observeStatefulSet(sts, 1)
	}
	return ctrl.Result{}, nil
}
