package controllers

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// reconcileMaster applies the master StatefulSet. While a new spec.image has
// not yet rolled out to ready slaves, the master keeps the image it runs:
// slaves are updated first, the master after them.
//
// A new cluster token is not held back: slaves on the new token can only
// become ready once the master runs it too, so waiting for them would
// deadlock. The master's template gets the new token hash at once (with the
// image it runs), so master and slaves restart together; if the image
// changes at the same time, the master restarts again for the image once the
// slaves are ready.
func (r *LotouClusterReconciler) reconcileMaster(ctx context.Context, s *scope) (ctrl.Result, error) {
	lc := s.cluster
	key := client.ObjectKey{Namespace: lc.Namespace, Name: resources.MasterName(lc)}
	prev, err := r.cachedStatefulSet(ctx, key)
	if err != nil {
		return ctrl.Result{}, err
	}
	image := masterImage(lc.Spec.Image, prev, s.obs.Slaves)
	s.obs.MasterImagePending = image != lc.Spec.Image
	desired := resources.MasterStatefulSet(lc, image, s.tokenHash)
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

// masterImage picks the master's image: the wanted one, unless the master
// runs another image and the slaves are not yet all ready on the new spec.
func masterImage(want string, prev *appsv1.StatefulSet, slaves roleState) string {
	if prev == nil {
		return want
	}
	if cur := imageOf(prev); cur != "" && cur != want && !slaves.IsReady() {
		return cur
	}
	return want
}
