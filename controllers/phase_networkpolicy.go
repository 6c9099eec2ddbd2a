package controllers

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete

// reconcileNetworkPolicy keeps the cluster's NetworkPolicy (see
// resources.NetworkPolicy) while spec.networkPolicy.enabled is true, and
// deletes the policy it made when it is turned off.
func (r *LotouClusterReconciler) reconcileNetworkPolicy(ctx context.Context, s *scope) (ctrl.Result, error) {
	desired := resources.NetworkPolicy(s.cluster)
	key := client.ObjectKeyFromObject(desired)
	live := &networkingv1.NetworkPolicy{}
	err := r.Client.Get(ctx, key, live)
	switch {
	case err != nil && !apierrors.IsNotFound(err):
		return ctrl.Result{}, fmt.Errorf("getting NetworkPolicy %s: %w", key, err)
	case !s.cluster.NetworkPolicyEnabled():
		if err != nil || !metav1.IsControlledBy(live, s.cluster) {
			return ctrl.Result{}, nil
		}
		if err := r.Client.Delete(ctx, live, client.Preconditions{UID: &live.UID}); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("deleting NetworkPolicy %s: %w", key, err)
		}
		return ctrl.Result{}, nil
	case err == nil && networkPolicyUpToDate(desired, live):
		return ctrl.Result{}, nil
	}
	res, err := r.apply(ctx, desired, live)
	if err != nil {
		return ctrl.Result{}, err
	}
	r.reportApply(s, live, res)
	return ctrl.Result{}, nil
}

// networkPolicyUpToDate tells whether live holds desired's labels, owner
// references and exactly its spec. The builder sets every field the API
// server would default, so an exact comparison sees removals too.
func networkPolicyUpToDate(desired, live *networkingv1.NetworkPolicy) bool {
	for k, v := range desired.Labels {
		if live.Labels[k] != v {
			return false
		}
	}
	return hasOwners(desired.OwnerReferences, live.OwnerReferences) &&
		equality.Semantic.DeepEqual(desired.Spec, live.Spec)
}
