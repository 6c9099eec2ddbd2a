package controllers

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

func stsWithImage(image string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		Containers: []corev1.Container{{Name: resources.ContainerName, Image: image}},
	}}}}
}

func TestMasterImage(t *testing.T) {
	tests := []struct {
		name   string
		prev   *appsv1.StatefulSet
		slaves roleState
		want   string
	}{
		{"new master", nil, roleState{}, "v2"},
		{"same image", stsWithImage("v2"), roleState{}, "v2"},
		{"slaves not ready: keep old", stsWithImage("v1"), withReady(ready(3), 2), "v1"},
		{"slaves rolling: keep old", stsWithImage("v1"), func() roleState { r := ready(3); r.Generation = 3; return r }(), "v1"},
		{"slaves ready: update", stsWithImage("v1"), ready(3), "v2"},
		{"no slaves: update", stsWithImage("v1"), ready(0), "v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := masterImage("v2", tt.prev, tt.slaves); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUpToDate(t *testing.T) {
	lc := &lotouv1alpha1.LotouCluster{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "n", UID: types.UID("u")}, Spec: lotouv1alpha1.LotouClusterSpec{Image: "img"}}
	lc.Spec.Slaves.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.5")}
	desired := resources.SlavesStatefulSet(lc, resources.TokenHash([]byte("t1")))
	tests := []struct {
		name   string
		mutate func(*appsv1.StatefulSet)
		want   bool
	}{
		{"identical", func(*appsv1.StatefulSet) {}, true},
		{"server defaults added", func(s *appsv1.StatefulSet) {
			s.Spec.RevisionHistoryLimit = ptr.To[int32](10)
			s.Spec.Template.Spec.DNSPolicy = corev1.DNSClusterFirst
			s.Spec.Template.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log"
			s.Labels["extra"] = "x"
			s.Generation = 4
		}, true},
		{"quantity normalised", func(s *appsv1.StatefulSet) {
			s.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("500m")
		}, true},
		{"image drift", func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "evil" }, false},
		{"replicas drift", func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](9) }, false},
		{"label removed", func(s *appsv1.StatefulSet) { delete(s.Labels, resources.LabelManagedBy) }, false},
		{"owner removed", func(s *appsv1.StatefulSet) { s.OwnerReferences = nil }, false},
		{"token hash changed", func(s *appsv1.StatefulSet) {
			s.Spec.Template.Annotations[resources.AnnotationTokenHash] = resources.TokenHash([]byte("t0"))
		}, false},
		{"env removed", func(s *appsv1.StatefulSet) {
			s.Spec.Template.Spec.Containers[0].Env = s.Spec.Template.Spec.Containers[0].Env[1:]
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := desired.DeepCopy()
			tt.mutate(live)
			if got := upToDate(desired, live); got != tt.want {
				t.Errorf("upToDate = %v, want %v", got, tt.want)
			}
		})
	}
	if upToDate(desired, &corev1.Service{}) {
		t.Error("different kinds must not be up to date")
	}
}
