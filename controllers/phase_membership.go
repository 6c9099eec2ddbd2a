package controllers

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/lotou-io/lotou/controllers/resources"
)

// reconcileMembership reads the master's /cluster view once the master is
// ready. An unreachable master is not an error: the Ready condition says
// MembershipUnavailable and the read is retried after MembershipRetry.
// A ready cluster is revisited every ResyncPeriod to refresh membership.
func (r *LotouClusterReconciler) reconcileMembership(ctx context.Context, s *scope) (ctrl.Result, error) {
	if r.Membership == nil || !s.obs.Master.IsReady() {
		return ctrl.Result{}, nil
	}
	view, err := r.Membership.Read(ctx, resources.ClusterURL(s.cluster))
	s.obs.MembershipChecked = true
	if err != nil {
		s.obs.MembershipErr = err
		r.Metrics.membershipReadFailed(s.cluster)
		ctrl.LoggerFrom(ctx).V(1).Info("Membership unavailable", "error", err.Error())
		return ctrl.Result{RequeueAfter: orDefault(r.Options.MembershipRetry, DefaultMembershipRetry)}, nil
	}
	s.obs.Membership = view
	return ctrl.Result{RequeueAfter: orDefault(r.Options.ResyncPeriod, DefaultResyncPeriod)}, nil
}
