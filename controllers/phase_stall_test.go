package controllers

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPodReasons(t *testing.T) {
	waiting := func(name, reason, msg string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}},
		}}}}
	}
	unschedulable := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p-3"}, Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available",
	}}}}
	crashed := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p-4"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}},
	}}}}
	healthy := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p-5"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
	}}}}
	tests := []struct {
		name string
		pods []corev1.Pod
		want []string
	}{
		{"none", nil, nil},
		{"healthy pods say nothing", []corev1.Pod{healthy}, nil},
		{"image pull", []corev1.Pod{waiting("p-1", "ImagePullBackOff", `Back-off pulling image "x"`)}, []string{`p-1 ImagePullBackOff: Back-off pulling image "x"`}},
		{"same reason once, sorted by pod", []corev1.Pod{waiting("p-2", "CrashLoopBackOff", "back-off 10s"), waiting("p-1", "CrashLoopBackOff", "back-off 20s")},
			[]string{"p-1 CrashLoopBackOff: back-off 20s"}},
		{"unschedulable and crashed", []corev1.Pod{crashed, unschedulable}, []string{"p-3 Unschedulable: 0/1 nodes are available", "p-4 Error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := podReasons(tt.pods)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("podReasons = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLatestEvent(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	evs := []corev1.Event{
		{Message: "old", LastTimestamp: metav1.NewTime(t0)},
		{Message: "new", EventTime: metav1.NewMicroTime(t0.Add(time.Minute))},
		{Message: "mid", ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.NewTime(t0.Add(time.Second))}},
	}
	if got := latestEvent(evs); got == nil || got.Message != "new" {
		t.Errorf("latestEvent = %+v", got)
	}
	if latestEvent(nil) != nil {
		t.Error("latestEvent(nil) must be nil")
	}
}
