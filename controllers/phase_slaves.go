package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// reconcileSlaves applies the slaves StatefulSet. It runs before the master
// phase so a new image reaches the slaves first.
func (r *LotouClusterReconciler) reconcileSlaves(ctx context.Context, s *scope) (ctrl.Result, error) {
	lc := s.cluster
	desired := resources.SlavesStatefulSet(lc, s.tokenHash)
	prev, err := r.cachedStatefulSet(ctx, client.ObjectKeyFromObject(desired))
	if err != nil {
		return ctrl.Result{}, err
	}
	live := &appsv1.StatefulSet{}
	res, err := r.apply(ctx, desired, live)
	if err != nil {
		return ctrl.Result{}, err
	}
	s.slavesSts, s.slavesSeen = live, true
	s.obs.Slaves = observeStatefulSet(live, lc.GetSlaveReplicas())
	r.reportStatefulSet(s, prev, desired, live, res, "slaves")
	return ctrl.Result{}, nil
}

// reportStatefulSet emits the events of one StatefulSet apply: Scaled and
// ImageUpdate when those changed, else Created or Updated.
func (r *LotouClusterReconciler) reportStatefulSet(s *scope, prev, desired, live *appsv1.StatefulSet, res applyResult, role string) {
	if prev == nil || res != applyUpdated {
		r.reportApply(s, live, res)
		return
	}
	specific := false
	if from, to := replicasOf(prev), replicasOf(desired); from != to {
		r.event(s.cluster, live, corev1.EventTypeNormal, ReasonEventScaled, "Scale", "Scaled %s from %d to %d", role, from, to)
		specific = true
	}
	if from, to := imageOf(prev), imageOf(desired); from != to {
		r.event(s.cluster, live, corev1.EventTypeNormal, ReasonEventImageUpdate, "Update", "Rolling %s from image %s to %s", role, from, to)
		specific = true
	}
	if from, to := tokenHashOf(prev), tokenHashOf(desired); from != "" && from != to {
		r.event(s.cluster, live, corev1.EventTypeWarning, ReasonEventTokenChanged, "Update",
			"Cluster token in Secret %s changed (deleted, emptied or edited): restarting %s on the new token", resources.TokenSecretName(s.cluster), role)
		specific = true
	}
	if !specific {
		r.reportApply(s, live, res)
	}
}

// cachedStatefulSet returns the StatefulSet from the cache, nil if absent.
func (r *LotouClusterReconciler) cachedStatefulSet(ctx context.Context, key client.ObjectKey) (*appsv1.StatefulSet, error) {
	sts := &appsv1.StatefulSet{}
	switch err := r.Client.Get(ctx, key, sts); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("getting StatefulSet %s: %w", key, err)
	}
	return sts, nil
}

func replicasOf(sts *appsv1.StatefulSet) int32 {
	if sts.Spec.Replicas == nil {
		return 1
	}
	return *sts.Spec.Replicas
}

// imageOf returns the image of the lotou-node container, "" if none.
func imageOf(sts *appsv1.StatefulSet) string {
	for _, c := range sts.Spec.Template.Spec.Containers {
		if c.Name == resources.ContainerName {
			return c.Image
		}
	}
	return ""
}

// tokenHashOf returns the token hash annotation of the pod template, "" if none.
func tokenHashOf(sts *appsv1.StatefulSet) string {
	return sts.Spec.Template.Annotations[resources.AnnotationTokenHash]
}
