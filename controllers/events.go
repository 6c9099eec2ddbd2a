package controllers

import (
	"fmt"
	"strings"
	"unicode/utf8"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// Event reasons emitted on LotouClusters.
const (
	// ReasonEventCreated: a child object was created.
	ReasonEventCreated = "Created"
	// ReasonEventScaled: the number of slaves changed.
	ReasonEventScaled = "Scaled"
	// ReasonEventUpdated: a child object was changed (new spec or drift corrected).
	ReasonEventUpdated = "Updated"
	// ReasonEventImageUpdate: a role started rolling out a new image.
	ReasonEventImageUpdate = "ImageUpdate"
	// ReasonEventTokenChanged (Warning): the cluster token was regenerated,
	// so every pod is restarted on the new token.
	ReasonEventTokenChanged = "TokenChanged"
	// ReasonEventFailed: a reconcile failed.
	ReasonEventFailed = "ReconcileFailed"
	// ReasonEventRolloutStalled (Warning): a rollout did not finish within
	// the progress deadline; the note says what the pods report.
	ReasonEventRolloutStalled = "RolloutStalled"
	// ReasonEventTokenMissing (Warning): the token Secret is gone and no pod
	// is changed until the user asks for a new token.
	ReasonEventTokenMissing = "TokenMissing"
	// ReasonEventNameConflict (Warning): an object under one of the
	// cluster's names is not controlled by it and is left alone.
	ReasonEventNameConflict = "NameConflict"
)

// reportConditions emits a Warning event when the Degraded condition turns
// True for a stalled rollout, or TokenMissing or NameConflict turn True:
// once per transition, not on every reconcile.
func (r *LotouClusterReconciler) reportConditions(before, after *lotouv1alpha1.LotouCluster) {
	became := func(t, reason string) *metav1.Condition {
		c := meta.FindStatusCondition(after.Status.Conditions, t)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != reason {
			return nil
		}
		if p := meta.FindStatusCondition(before.Status.Conditions, t); p != nil && p.Status == metav1.ConditionTrue && p.Reason == reason {
			return nil
		}
		return c
	}
	if c := became(lotouv1alpha1.ConditionDegraded, lotouv1alpha1.ReasonRolloutStalled); c != nil {
		r.event(after, nil, corev1.EventTypeWarning, ReasonEventRolloutStalled, "Rollout", "%s", c.Message)
	}
	if c := became(lotouv1alpha1.ConditionTokenMissing, lotouv1alpha1.ReasonTokenMissing); c != nil {
		r.event(after, nil, corev1.EventTypeWarning, ReasonEventTokenMissing, "Reconcile", "%s", c.Message)
	}
	if c := became(lotouv1alpha1.ConditionNameConflict, lotouv1alpha1.ReasonNameConflict); c != nil {
		r.event(after, nil, corev1.EventTypeWarning, ReasonEventNameConflict, "Reconcile", "%s", c.Message)
	}
}

func (r *LotouClusterReconciler) event(lc *lotouv1alpha1.LotouCluster, related runtime.Object, eventType, reason, action, note string, args ...any) {
	if r.Recorder == nil {
		return
	}
	// The API server refuses an event whose note is longer than
	// maxEventNote: cut it, or the event is lost altogether.
	r.Recorder.Eventf(lc, related, eventType, reason, action, "%s", truncate(fmt.Sprintf(note, args...), maxEventNote))
}

// Bounds of what the API server accepts: an events.k8s.io note, and a
// condition message (metav1.Condition).
const (
	maxEventNote        = 1024
	maxConditionMessage = 32768
)

// truncate cuts s to at most limit bytes, on a rune boundary, saying how
// much was cut. A failed apply's message lists every invalid field, and
// a user controls how many there are.
func truncate(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	suffix := fmt.Sprintf(" ... (cut from %d bytes)", len(s))
	end := limit - len(suffix)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + suffix
}

// reportApply records one applied child object: creations are collected
// in the scope and reported as one Created event per reconcile by
// reportCreated; updates (a spec change or corrected drift) get an Updated
// event each.
func (r *LotouClusterReconciler) reportApply(s *scope, obj client.Object, res applyResult) {
	switch res {
	case applyCreated:
		s.created = append(s.created, kindOf(obj)+" "+obj.GetName())
	case applyUpdated:
		r.event(s.cluster, obj, corev1.EventTypeNormal, ReasonEventUpdated, "Update", "Updated %s %s", kindOf(obj), obj.GetName())
	case applyUnchanged:
	}
}

// reportCreated emits one Created event listing every object created in
// this reconcile: one line in `kubectl describe` instead of seven.
func (r *LotouClusterReconciler) reportCreated(s *scope) {
	if len(s.created) > 0 {
		r.event(s.cluster, nil, corev1.EventTypeNormal, ReasonEventCreated, "Create", "Created %s", strings.Join(s.created, ", "))
	}
}

// kindOf names the kind of a child object; typed clients clear TypeMeta on
// the objects they return, so the Go type is used.
func kindOf(obj client.Object) string {
	switch obj.(type) {
	case *appsv1.StatefulSet:
		return "StatefulSet"
	case *corev1.Service:
		return "Service"
	case *corev1.Secret:
		return "Secret"
	case *policyv1.PodDisruptionBudget:
		return "PodDisruptionBudget"
	}
	return obj.GetObjectKind().GroupVersionKind().Kind
}
