package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// reconcileMaster applies the master StatefulSet. Any change of the
// master's object (image, config, services, env, resources, a new operator
// version's builder) waits until the slaves run their new spec and are
// ready: slaves roll first, the master last. While it waits, the master
// StatefulSet is left exactly as it is.
//
// A new cluster token is not held back: slaves on the new token can only
// become ready once the master runs it too, so waiting for them would
// deadlock. The master gets its whole new object at once then.
func (r *LotouClusterReconciler) reconcileMaster(ctx context.Context, s *scope) (ctrl.Result, error) {
	lc := s.cluster
	key := client.ObjectKey{Namespace: lc.Namespace, Name: resources.MasterName(lc)}
	prev, err := r.cachedStatefulSet(ctx, key)
	if err != nil {
		return ctrl.Result{}, err
	}
	desired := resources.MasterStatefulSet(lc, "", s.tokenHash)
	hold, err := holdMaster(prev, desired, s.obs.Slaves)
	if err != nil {
		return ctrl.Result{}, err
	}
	if hold {
		if !controlledBy(prev, desired) {
			return ctrl.Result{}, nameConflict("StatefulSet", prev.Name)
		}
		s.obs.MasterPending = true
		s.masterSts, s.masterSeen = prev, true
		s.obs.Master = observeStatefulSet(prev, 1)
		return ctrl.Result{}, nil
	}
	live := &appsv1.StatefulSet{}
	res, err := r.apply(ctx, desired, live)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.masterSts, s.masterSeen = live, true
	s.obs.Master = observeStatefulSet(live, 1)
	r.reportStatefulSet(s, prev, desired, live, res, "master")
	return ctrl.Result{}, nil
}

// holdMaster tells whether the master StatefulSet must wait: it exists,
// was applied from another object than desired, the token is unchanged, and
// the slaves are not all ready on their current spec.
func holdMaster(prev, desired *appsv1.StatefulSet, slaves roleState) (bool, error) {
	if prev == nil || slaves.IsReady() || tokenHashOf(prev) != tokenHashOf(desired) {
		return false, nil
	}
	hash, err := objectHash(desired)
	if err != nil {
		return false, err
	}
	return prev.Annotations[AnnotationDesiredHash] != hash, nil
}
