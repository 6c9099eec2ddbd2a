package controllers

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

func testCluster() *lotouv1alpha1.LotouCluster {
	lc := &lotouv1alpha1.LotouCluster{ObjectMeta: metav1.ObjectMeta{Name: "d", Namespace: "n", UID: types.UID("u")}, Spec: lotouv1alpha1.LotouClusterSpec{Image: "img"}}
	lc.Spec.Slaves.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("0.5")}
	return lc
}

// hashOf is the desired-hash apply records for obj.
func hashOf(t *testing.T, obj client.Object) string {
	t.Helper()
	hash, err := objectHash(obj)
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

// asApplied returns a copy of desired as the API server holds it after
// apply: with the desired-hash annotation.
func asApplied(t *testing.T, desired *appsv1.StatefulSet) *appsv1.StatefulSet {
	t.Helper()
	live := desired.DeepCopy()
	if live.Annotations == nil {
		live.Annotations = map[string]string{}
	}
	live.Annotations[AnnotationDesiredHash] = hashOf(t, desired)
	return live
}

func TestHoldMaster(t *testing.T) {
	lc := testCluster()
	old := asApplied(t, resources.MasterStatefulSet(lc, "", "tok1"))
	changed := func(mut func(*lotouv1alpha1.LotouCluster), token string) *appsv1.StatefulSet {
		c := lc.DeepCopy()
		mut(c)
		return resources.MasterStatefulSet(c, "", token)
	}
	rolling := withReady(ready(3), 2)
	tests := []struct {
		name    string
		prev    *appsv1.StatefulSet
		desired *appsv1.StatefulSet
		slaves  roleState
		want    bool
	}{
		{"new master", nil, changed(func(*lotouv1alpha1.LotouCluster) {}, "tok1"), rolling, false},
		{"unchanged", old, changed(func(*lotouv1alpha1.LotouCluster) {}, "tok1"), rolling, false},
		{"image, slaves not ready: hold", old, changed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Image = "v2" }, "tok1"), rolling, true},
		{"config, slaves not ready: hold", old, changed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Config.LogLevel = "debug" }, "tok1"), rolling, true},
		{"services, slaves not ready: hold", old, changed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Services = []string{"chat"} }, "tok1"), rolling, true},
		{"master env, slaves not ready: hold", old, changed(func(c *lotouv1alpha1.LotouCluster) {
			c.Spec.Master.Env = []corev1.EnvVar{{Name: "X", Value: "1"}}
		}, "tok1"), rolling, true},
		{"resources removed, slaves rolling: hold", asApplied(t, changed(func(c *lotouv1alpha1.LotouCluster) {
			c.Spec.Master.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("64Mi")}
		}, "tok1")), resources.MasterStatefulSet(lc, "", "tok1"), func() roleState { r := ready(3); r.Generation = 3; return r }(), true},
		{"builder of an older operator (no hash): hold", resources.MasterStatefulSet(lc, "", "tok1"), changed(func(*lotouv1alpha1.LotouCluster) {}, "tok1"), rolling, true},
		{"new token: never held", old, changed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Image = "v2" }, "tok2"), rolling, false},
		{"slaves ready: update", old, changed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Image = "v2" }, "tok1"), ready(3), false},
		{"no slaves: update", old, changed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Image = "v2" }, "tok1"), ready(0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := holdMaster(tt.prev, tt.desired, tt.slaves)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("holdMaster = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUpToDate(t *testing.T) {
	lc := testCluster()
	lc.Spec.Slaves.NodeSelector = map[string]string{"pool": "games"}
	lc.Spec.Slaves.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpExists}}
	lc.Spec.Slaves.PodAnnotations = map[string]string{"team": "red"}
	lc.Spec.Slaves.Env = []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}
	desired := resources.SlavesStatefulSet(lc, resources.TokenHash([]byte("t1")))
	hash := hashOf(t, desired)
	// removed builds the StatefulSet of lc with one optional field removed:
	// the live object (applied from the old spec) must not be up to date.
	removed := func(mut func(*lotouv1alpha1.LotouCluster)) *appsv1.StatefulSet {
		c := lc.DeepCopy()
		mut(c)
		return resources.SlavesStatefulSet(c, resources.TokenHash([]byte("t1")))
	}
	tests := []struct {
		name    string
		desired *appsv1.StatefulSet
		mutate  func(*appsv1.StatefulSet)
		want    bool
	}{
		{"identical", desired, func(*appsv1.StatefulSet) {}, true},
		{"server defaults added", desired, func(s *appsv1.StatefulSet) {
			s.Spec.RevisionHistoryLimit = ptr.To[int32](10)
			s.Spec.Template.Spec.DNSPolicy = corev1.DNSClusterFirst
			s.Spec.Template.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log"
			s.Labels["extra"] = "x"
			s.Generation = 4
		}, true},
		{"quantity normalised", desired, func(s *appsv1.StatefulSet) {
			s.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceCPU] = resource.MustParse("500m")
		}, true},
		{"maxUnavailable dropped by the API server", desired, func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0)}
		}, true},
		{"maxUnavailable changed by hand", desired, func(s *appsv1.StatefulSet) {
			s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(5))
		}, false},
		{"hash annotation missing", desired, func(s *appsv1.StatefulSet) { delete(s.Annotations, AnnotationDesiredHash) }, false},
		{"image drift", desired, func(s *appsv1.StatefulSet) { s.Spec.Template.Spec.Containers[0].Image = "evil" }, false},
		{"replicas drift", desired, func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](9) }, false},
		{"label removed", desired, func(s *appsv1.StatefulSet) { delete(s.Labels, resources.LabelManagedBy) }, false},
		{"owner removed", desired, func(s *appsv1.StatefulSet) { s.OwnerReferences = nil }, false},
		{"token hash changed", desired, func(s *appsv1.StatefulSet) {
			s.Spec.Template.Annotations[resources.AnnotationTokenHash] = resources.TokenHash([]byte("t0"))
		}, false},
		{"env removed by hand", desired, func(s *appsv1.StatefulSet) {
			s.Spec.Template.Spec.Containers[0].Env = s.Spec.Template.Spec.Containers[0].Env[1:]
		}, false},
		{"spec: nodeSelector removed", removed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.NodeSelector = nil }), nil, false},
		{"spec: tolerations removed", removed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.Tolerations = nil }), nil, false},
		{"spec: resources removed", removed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.Resources = corev1.ResourceRequirements{} }), nil, false},
		{"spec: pod annotations removed", removed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.PodAnnotations = nil }), nil, false},
		{"spec: trailing env removed", removed(func(c *lotouv1alpha1.LotouCluster) { c.Spec.Slaves.Env = c.Spec.Slaves.Env[:1] }), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := desired.DeepCopy()
			live.Annotations = map[string]string{AnnotationDesiredHash: hash}
			if tt.mutate != nil {
				tt.mutate(live)
			}
			if got := upToDate(tt.desired, live, hashOf(t, tt.desired)); got != tt.want {
				t.Errorf("upToDate = %v, want %v", got, tt.want)
			}
		})
	}
	if upToDate(desired, &corev1.Service{}, hash) {
		t.Error("different kinds must not be up to date")
	}
}

func TestUpToDateServiceNodePorts(t *testing.T) {
	lc := testCluster()
	lc.Spec.Gate = &lotouv1alpha1.GateSpec{Enabled: true, Service: lotouv1alpha1.GateServiceSpec{Type: lotouv1alpha1.GateServiceNodePort}}
	desired := resources.GateService(lc)
	hash := hashOf(t, desired)
	live := desired.DeepCopy()
	live.Annotations = map[string]string{AnnotationDesiredHash: hash}
	live.Spec.Ports[0].NodePort = 31234 // allocated by the API server
	if !upToDate(desired, live, hash) {
		t.Error("an allocated node port must not read as drift")
	}
	live.Spec.Ports[0].Port = 7001
	if upToDate(desired, live, hash) {
		t.Error("a changed port is drift")
	}
	if desired.Spec.Ports[0].NodePort != 0 {
		t.Error("upToDate must not change desired")
	}
}
