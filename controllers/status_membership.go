package controllers

import (
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// MembershipRefresh is how old status.membership.lastReadTime may get while
// reads of /cluster succeed and report nothing new. Refreshing it on every
// read would write the status of every cluster every ResyncPeriod.
const MembershipRefresh = 5 * time.Minute

// membershipRead computes status.membership for this reconcile:
// lastReadTime moves to now when the master was read and either what it
// reported changed or the recorded time is MembershipRefresh old; otherwise
// the previous value stays. It reads st before computeStatus overwrites the
// membership lists.
func membershipRead(st *lotouv1alpha1.LotouClusterStatus, obs observation, now time.Time) *lotouv1alpha1.MembershipStatus {
	if obs.Membership == nil {
		return st.Membership
	}
	nodes, globals := membershipStatus(obs.Membership)
	if prev := st.Membership; prev != nil && prev.LastReadTime != nil &&
		now.Sub(prev.LastReadTime.Time) < MembershipRefresh &&
		equality.Semantic.DeepEqual(nodes, st.RegisteredNodes) && equality.Semantic.DeepEqual(globals, st.GlobalServices) {
		return prev
	}
	t := metav1.NewTime(now.Truncate(time.Second))
	return &lotouv1alpha1.MembershipStatus{LastReadTime: &t}
}
