package controllers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
	"github.com/lotou-io/lotou/runtime/contract"
)

// roleState is what the operator observed of one role's StatefulSet.
type roleState struct {
	Exists             bool
	Desired            int32 // replicas the LotouCluster asks for
	SpecReplicas       int32 // replicas in the StatefulSet spec
	Replicas           int32
	Ready              int32
	Updated            int32
	Generation         int64
	ObservedGeneration int64
	CurrentRevision    string
	UpdateRevision     string
}

// observeStatefulSet turns a StatefulSet (nil when absent) into a roleState.
func observeStatefulSet(sts *appsv1.StatefulSet, desired int32) roleState {
	if sts == nil {
		return roleState{Desired: desired}
	}
	rs := roleState{
		Exists:             true,
		Desired:            desired,
		Replicas:           sts.Status.Replicas,
		Ready:              sts.Status.ReadyReplicas,
		Updated:            sts.Status.UpdatedReplicas,
		Generation:         sts.Generation,
		ObservedGeneration: sts.Status.ObservedGeneration,
		CurrentRevision:    sts.Status.CurrentRevision,
		UpdateRevision:     sts.Status.UpdateRevision,
	}
	if sts.Spec.Replicas != nil {
		rs.SpecReplicas = *sts.Spec.Replicas
	}
	return rs
}

// RolledOut tells whether the StatefulSet controller has applied the latest
// spec to every pod: right number of pods, all at the update revision.
func (r roleState) RolledOut() bool {
	return r.Exists && r.SpecReplicas == r.Desired && r.ObservedGeneration >= r.Generation &&
		r.Replicas == r.Desired && r.Updated == r.Desired &&
		(r.UpdateRevision == "" || r.CurrentRevision == r.UpdateRevision)
}

// IsReady tells whether the role is rolled out and every pod is ready.
func (r roleState) IsReady() bool { return r.RolledOut() && r.Ready >= r.Desired }

// observation is everything the phases saw in one reconcile; computeStatus
// derives the status from it and nothing else.
type observation struct {
	Master, Slaves roleState
	// MasterPending is set while a new master object waits for the slaves.
	MasterPending bool
	// TokenMissing is set when the token Secret is gone or empty and no new
	// token was asked for; the StatefulSets were left alone.
	TokenMissing bool
	// StallReasons say why pods of a rollout past its deadline are not
	// ready (waiting reasons, failed creations); filled only then.
	StallReasons []string
	// MembershipChecked is set when /cluster was read (or its read failed).
	MembershipChecked bool
	Membership        *contract.ClusterView
	MembershipErr     error
	ReconcileErr      error
	Paused            bool
}

// statusInput bundles the clock and deadline computeStatus needs besides
// the observation, so it stays a pure function.
type statusInput struct {
	Now              time.Time
	ProgressDeadline time.Duration
}

// progressExpired tells whether the cluster has been Progressing for longer
// than the deadline.
func progressExpired(lc *lotouv1alpha1.LotouCluster, in statusInput) bool {
	p := meta.FindStatusCondition(lc.Status.Conditions, lotouv1alpha1.ConditionProgressing)
	return p != nil && p.Status == metav1.ConditionTrue && in.ProgressDeadline > 0 &&
		in.Now.Sub(p.LastTransitionTime.Time) > in.ProgressDeadline
}

// untilDeadline is how long until the Progressing condition is older than
// the deadline (plus a second, so the check then finds it expired); the
// whole deadline when the cluster is not Progressing.
func untilDeadline(lc *lotouv1alpha1.LotouCluster, in statusInput) time.Duration {
	p := meta.FindStatusCondition(lc.Status.Conditions, lotouv1alpha1.ConditionProgressing)
	if p == nil || p.Status != metav1.ConditionTrue {
		return in.ProgressDeadline
	}
	return max(p.LastTransitionTime.Add(in.ProgressDeadline).Sub(in.Now), 0) + time.Second
}

// rolloutStalled tells whether the roles are not all ready and either the
// progress deadline passed or the rollout was already found stalled.
func rolloutStalled(lc *lotouv1alpha1.LotouCluster, obs observation, in statusInput) bool {
	if obs.Paused || obs.Master.IsReady() && obs.Slaves.IsReady() {
		return false
	}
	if progressExpired(lc, in) {
		return true
	}
	d := meta.FindStatusCondition(lc.Status.Conditions, lotouv1alpha1.ConditionDegraded)
	return d != nil && d.Status == metav1.ConditionTrue && d.Reason == lotouv1alpha1.ReasonRolloutStalled
}

// computeStatus writes lc.Status from obs. It reads the previous
// conditions of lc (to keep Degraded sticky until the role recovers) and
// otherwise depends only on its arguments.
func computeStatus(lc *lotouv1alpha1.LotouCluster, obs observation, in statusInput) {
	st := &lc.Status
	st.ObservedGeneration = lc.Generation
	st.Replicas = obs.Slaves.Replicas
	st.ReadySlaves = obs.Slaves.Ready
	st.Selector = resources.SlaveSelector(lc)
	st.MasterEndpoint = resources.MasterEndpoint(lc)
	st.Membership = membershipRead(st, obs, in.Now)
	if obs.Membership != nil {
		st.RegisteredNodes, st.GlobalServices = membershipStatus(obs.Membership)
		st.Sessions = 0
		for _, n := range st.RegisteredNodes {
			st.Sessions += n.Sessions
		}
	}
	set(lc, tokenMissingCondition(obs))
	set(lc, nameConflictCondition(obs))
	degraded := degradedCondition(lc, obs, in)
	set(lc, masterReadyCondition(obs.Master))
	set(lc, slavesReadyCondition(obs.Slaves))
	set(lc, progressingCondition(obs, degraded))
	set(lc, degraded)
	set(lc, readyCondition(obs))
}

func set(lc *lotouv1alpha1.LotouCluster, c metav1.Condition) {
	c.ObservedGeneration = lc.Generation
	meta.SetStatusCondition(&lc.Status.Conditions, c)
}

func cond(t string, ok bool, reason, msg string, args ...any) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	// A longer message fails the whole status patch.
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: truncate(fmt.Sprintf(msg, args...), maxConditionMessage)}
}

func masterReadyCondition(m roleState) metav1.Condition {
	const t = lotouv1alpha1.ConditionMasterReady
	switch {
	case !m.Exists:
		return cond(t, false, lotouv1alpha1.ReasonNotFound, "Master StatefulSet does not exist yet")
	case !m.RolledOut():
		return cond(t, false, lotouv1alpha1.ReasonRollingOut, "Master is rolling out (%d of %d pods updated)", m.Updated, m.Desired)
	case !m.IsReady():
		return cond(t, false, lotouv1alpha1.ReasonPodsNotReady, "Master pod is not ready")
	}
	return cond(t, true, lotouv1alpha1.ReasonReady, "Master is ready")
}

func slavesReadyCondition(s roleState) metav1.Condition {
	const t = lotouv1alpha1.ConditionSlavesReady
	switch {
	case !s.Exists:
		return cond(t, false, lotouv1alpha1.ReasonNotFound, "Slaves StatefulSet does not exist yet")
	case !s.RolledOut():
		return cond(t, false, lotouv1alpha1.ReasonRollingOut, "Slaves are rolling out (%d of %d pods updated, %d exist)", s.Updated, s.Desired, s.Replicas)
	case !s.IsReady():
		return cond(t, false, lotouv1alpha1.ReasonPodsNotReady, "%d of %d slaves ready", s.Ready, s.Desired)
	}
	return cond(t, true, lotouv1alpha1.ReasonReady, "%d of %d slaves ready", s.Ready, s.Desired)
}

// degradedCondition is True when a role has settled (rolled out) but is not
// ready, and either it was ready before, it was already Degraded, or the
// cluster has been progressing for longer than the progress deadline; or
// when the last reconcile failed.
func degradedCondition(lc *lotouv1alpha1.LotouCluster, obs observation, in statusInput) metav1.Condition {
	const t = lotouv1alpha1.ConditionDegraded
	switch {
	case errors.Is(obs.ReconcileErr, errNameConflict):
		return cond(t, true, lotouv1alpha1.ReasonNameConflict, "Refusing to take over an object that is not ours: %v", obs.ReconcileErr)
	case obs.ReconcileErr != nil:
		return cond(t, true, lotouv1alpha1.ReasonReconcileFailed, "Reconcile failed: %v", obs.ReconcileErr)
	case obs.TokenMissing:
		return cond(t, true, lotouv1alpha1.ReasonTokenMissing, "%s", tokenMissingMessage)
	}
	wasDegraded := meta.IsStatusConditionTrue(lc.Status.Conditions, t)
	expired := progressExpired(lc, in)
	wasMasterReady := meta.IsStatusConditionTrue(lc.Status.Conditions, lotouv1alpha1.ConditionMasterReady)
	if obs.Master.RolledOut() && !obs.Master.IsReady() && (wasMasterReady || wasDegraded || expired) {
		return cond(t, true, lotouv1alpha1.ReasonMasterNotReady, "Master pod is not ready; slaves cannot join or call the master")
	}
	wasSlavesReady := meta.IsStatusConditionTrue(lc.Status.Conditions, lotouv1alpha1.ConditionSlavesReady)
	if obs.Slaves.RolledOut() && !obs.Slaves.IsReady() && (wasSlavesReady || wasDegraded || expired) {
		return cond(t, true, lotouv1alpha1.ReasonSlavesNotReady, "%d of %d slaves ready", obs.Slaves.Ready, obs.Slaves.Desired)
	}
	if rolloutStalled(lc, obs, in) {
		return cond(t, true, lotouv1alpha1.ReasonRolloutStalled, "%s", stallMessage(obs, in.ProgressDeadline))
	}
	return cond(t, false, lotouv1alpha1.ReasonAsExpected, "Cluster is not degraded")
}

// stallMessage says which role did not finish and what its pods report.
func stallMessage(obs observation, deadline time.Duration) string {
	role, rs := "Slaves", obs.Slaves
	if obs.Slaves.IsReady() {
		role, rs = "Master", obs.Master
	}
	msg := fmt.Sprintf("%s rollout did not finish within %s (%d of %d pods updated, %d ready)", role, deadline, rs.Updated, rs.Desired, rs.Ready)
	if len(obs.StallReasons) > 0 {
		msg += ": " + strings.Join(obs.StallReasons, "; ")
	}
	const maxMessage = 32768 // metav1.Condition.Message MaxLength
	if len(msg) > maxMessage {
		msg = msg[:maxMessage]
	}
	return msg
}

const tokenMissingMessage = "Token Secret was deleted or emptied; running pods keep the old token and no pod is changed. " +
	"Restore the Secret, or annotate the LotouCluster with " + lotouv1alpha1.AnnotationRegenerateToken + "=true to generate a new token and restart every pod"

func tokenMissingCondition(obs observation) metav1.Condition {
	const t = lotouv1alpha1.ConditionTokenMissing
	if obs.TokenMissing {
		return cond(t, true, lotouv1alpha1.ReasonTokenMissing, "%s", tokenMissingMessage)
	}
	return cond(t, false, lotouv1alpha1.ReasonTokenPresent, "Token Secret holds the cluster token")
}

func nameConflictCondition(obs observation) metav1.Condition {
	const t = lotouv1alpha1.ConditionNameConflict
	if errors.Is(obs.ReconcileErr, errNameConflict) {
		return cond(t, true, lotouv1alpha1.ReasonNameConflict,
			"%v: delete or rename it, or rename the LotouCluster; the operator does not take over objects it does not control", obs.ReconcileErr)
	}
	return cond(t, false, lotouv1alpha1.ReasonNoConflict, "Every object of the cluster is controlled by it")
}

func progressingCondition(obs observation, degraded metav1.Condition) metav1.Condition {
	const t = lotouv1alpha1.ConditionProgressing
	m, s := obs.Master, obs.Slaves
	switch {
	case obs.Paused:
		return cond(t, false, lotouv1alpha1.ReasonPaused, "Reconciliation is paused by spec.paused; no changes are made")
	case degraded.Status == metav1.ConditionTrue && degraded.Reason != lotouv1alpha1.ReasonReconcileFailed &&
		degraded.Reason != lotouv1alpha1.ReasonNameConflict:
		return cond(t, false, degraded.Reason, "Stopped progressing: %s", degraded.Message)
	case !m.Exists || !s.Exists:
		return cond(t, true, lotouv1alpha1.ReasonCreating, "Creating master and slaves")
	case s.SpecReplicas != s.Desired || s.Replicas != s.Desired:
		return cond(t, true, lotouv1alpha1.ReasonScaling, "Scaling slaves from %d to %d", s.Replicas, s.Desired)
	case !s.RolledOut():
		return cond(t, true, lotouv1alpha1.ReasonUpdatingSlaves, "Rolling out slaves (%d of %d updated)", s.Updated, s.Desired)
	case obs.MasterPending:
		return cond(t, true, lotouv1alpha1.ReasonWaitingForSlaves, "Master update waits for all slaves to be ready on their new spec")
	case !m.RolledOut():
		return cond(t, true, lotouv1alpha1.ReasonUpdatingMaster, "Rolling out master")
	case !m.IsReady() || !s.IsReady():
		return cond(t, true, lotouv1alpha1.ReasonRollingOut, "Waiting for pods to become ready")
	}
	return cond(t, false, lotouv1alpha1.ReasonReconciled, "Cluster matches its spec")
}

func readyCondition(obs observation) metav1.Condition {
	const t = lotouv1alpha1.ConditionReady
	switch {
	case !obs.Master.IsReady():
		return cond(t, false, lotouv1alpha1.ReasonMasterNotReady, "Master is not ready")
	case !obs.Slaves.IsReady():
		return cond(t, false, lotouv1alpha1.ReasonSlavesNotReady, "%d of %d slaves ready", obs.Slaves.Ready, obs.Slaves.Desired)
	case obs.MembershipErr != nil:
		return cond(t, false, lotouv1alpha1.ReasonMembershipUnavailable, "Cannot read membership from the master: %v", obs.MembershipErr)
	case obs.Membership != nil:
		want := int(obs.Slaves.Desired) + 1
		if up := upNodes(obs.Membership); up < want {
			return cond(t, false, lotouv1alpha1.ReasonNodesNotRegistered, "%d of %d nodes registered with the master", up, want)
		}
	}
	return cond(t, true, lotouv1alpha1.ReasonReady, "Master and %d slaves are ready", obs.Slaves.Ready)
}

func upNodes(v *contract.ClusterView) int {
	n := 0
	for _, nd := range v.Nodes {
		if nd.Up {
			n++
		}
	}
	return n
}

// membershipStatus converts a /cluster view into sorted status lists.
func membershipStatus(v *contract.ClusterView) ([]lotouv1alpha1.RegisteredNode, []string) {
	seen := make(map[string]bool, len(v.Nodes))
	nodes := make([]lotouv1alpha1.RegisteredNode, 0, len(v.Nodes))
	for _, n := range v.Nodes {
		if n.Name == "" || seen[n.Name] {
			continue // listMapKey=name must stay unique
		}
		seen[n.Name] = true
		nodes = append(nodes, lotouv1alpha1.RegisteredNode{Name: n.Name, Role: n.Role, Address: n.Addr, Up: n.Up, Sessions: int64(n.Sessions)})
	}
	slices.SortFunc(nodes, func(a, b lotouv1alpha1.RegisteredNode) int { return strings.Compare(a.Name, b.Name) })
	globals := make([]string, 0, len(v.Globals))
	for _, g := range v.Globals {
		globals = append(globals, g.Name)
	}
	slices.Sort(globals)
	globals = slices.Compact(globals)
	const maxNodes, maxGlobals = 1024, 4096 // CRD MaxItems
	if len(nodes) > maxNodes {
		nodes = nodes[:maxNodes]
	}
	if len(globals) > maxGlobals {
		globals = globals[:maxGlobals]
	}
	// The items have no length bound (names are up to 1 KiB on the wire):
	// bound the bytes too, or a status above the API server's request
	// limit could never be written, conditions included.
	size := 0
	for i, n := range nodes {
		if size += len(n.Name) + len(n.Role) + len(n.Address) + 64; size > maxMembershipBytes {
			nodes = nodes[:i]
			break
		}
	}
	size = 0
	for i, g := range globals {
		if size += len(g) + 4; size > maxMembershipBytes {
			globals = globals[:i]
			break
		}
	}
	return nodes, globals
}

// maxMembershipBytes bounds the bytes of status.registeredNodes and, apart,
// of status.globalServices: a few thousand ordinary names fit, and the
// whole LotouCluster stays far below the API server's 1.5 MiB.
const maxMembershipBytes = 256 << 10
