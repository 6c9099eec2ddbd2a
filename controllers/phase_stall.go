package controllers

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// maxStallReasons bounds how many distinct pod reasons a condition lists.
const maxStallReasons = 8

// reconcileStall runs only when a rollout is past its progress deadline (or
// was found stalled before) and collects why: the waiting or terminated
// reasons of the cluster's pods that are not ready (ImagePullBackOff,
// CrashLoopBackOff, ...), unschedulable pods, and the StatefulSet
// controller's FailedCreate events (a pod refused by admission never
// exists, so only the event tells). It reads around the cache: pods and
// events are not watched, and this is rare.
func (r *LotouClusterReconciler) reconcileStall(ctx context.Context, s *scope) (ctrl.Result, error) {
	lc := s.cluster
	if !rolloutStalled(lc, s.obs, r.statusInput()) {
		return ctrl.Result{}, nil
	}
	var pods corev1.PodList
	if err := r.apiReader().List(ctx, &pods, client.InNamespace(lc.Namespace),
		client.MatchingLabels(resources.ClusterSelectorLabels(lc))); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing pods of %s: %w", lc.Name, err)
	}
	reasons := podReasons(pods.Items)
	for _, name := range []string{resources.SlavesName(lc), resources.MasterName(lc)} {
		var evs corev1.EventList
		if err := r.apiReader().List(ctx, &evs, client.InNamespace(lc.Namespace), client.MatchingFields{
			"involvedObject.kind": "StatefulSet", "involvedObject.name": name, "reason": "FailedCreate",
		}); err != nil {
			return ctrl.Result{}, fmt.Errorf("listing events of StatefulSet %s: %w", name, err)
		}
		if ev := latestEvent(evs.Items); ev != nil {
			reasons = append(reasons, fmt.Sprintf("%s FailedCreate: %s", name, ev.Message))
		}
	}
	s.obs.StallReasons = reasons
	return ctrl.Result{}, nil
}

// podReasons lists, once each, why pods are not ready: "<pod> <reason>:
// <message>" of a waiting or crashing container, or of an unschedulable pod.
func podReasons(pods []corev1.Pod) []string {
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	var out []string
	seen := map[string]bool{}
	add := func(pod, reason, msg string) {
		if reason == "" || seen[reason] || len(out) >= maxStallReasons {
			return
		}
		seen[reason] = true
		line := pod + " " + reason
		if msg != "" {
			line += ": " + msg
		}
		out = append(out, line)
	}
	for i := range pods {
		p := &pods[i]
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
				add(p.Name, c.Reason, c.Message)
			}
		}
		for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
			switch {
			case cs.State.Waiting != nil:
				add(p.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
			case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
				add(p.Name, cs.State.Terminated.Reason, cs.State.Terminated.Message)
			}
		}
	}
	return out
}

// latestEvent returns the most recent event, nil if none.
func latestEvent(evs []corev1.Event) *corev1.Event {
	var last *corev1.Event
	for i := range evs {
		e := &evs[i]
		if last == nil || eventTime(e).After(eventTime(last)) {
			last = e
		}
	}
	return last
}

func eventTime(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	}
	return e.CreationTimestamp.Time
}
