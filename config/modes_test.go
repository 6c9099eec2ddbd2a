package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

func managerArgs(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	d := find(objs, "Deployment", "lotou-controller-manager")
	if d == nil {
		t.Fatal("no manager Deployment")
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	return args
}

// generatedRules are the rules of config/rbac/role.yaml (controller-gen).
func generatedRules(t *testing.T) any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("rbac", "role.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m["rules"]
}

// TestMetricsAreAuthenticated: the manager serves /metrics over HTTPS with
// the authn/authz filter and holds the RBAC the filter needs.
func TestMetricsAreAuthenticated(t *testing.T) {
	objs := render(t, "default")
	args := managerArgs(t, objs)
	if !slices.Contains(args, "--metrics-bind-address=:8443") || slices.Contains(args, "--metrics-secure=false") {
		t.Errorf("manager args %v: want secure metrics on :8443", args)
	}
	svc := find(objs, "Service", "lotou-controller-manager-metrics-service")
	if svc == nil {
		t.Fatal("no metrics Service")
	}
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	if p := ports[0].(map[string]any); p["name"] != "https" || p["port"] != int64(8443) && p["port"] != float64(8443) {
		t.Errorf("metrics Service port = %v", p)
	}
	auth := find(objs, "ClusterRole", "lotou-metrics-auth-role")
	if auth == nil {
		t.Fatal("no metrics-auth ClusterRole")
	}
	rules, _, _ := unstructured.NestedSlice(auth.Object, "rules")
	var granted []string
	for _, r := range rules {
		res, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
		granted = append(granted, res...)
	}
	if !slices.Contains(granted, "tokenreviews") || !slices.Contains(granted, "subjectaccessreviews") {
		t.Errorf("metrics-auth role grants %v", granted)
	}
	b := find(objs, "ClusterRoleBinding", "lotou-metrics-auth-rolebinding")
	if b == nil {
		t.Fatal("metrics-auth role not bound")
	}
	subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
	if s := subjects[0].(map[string]any); s["name"] != "lotou-controller-manager" || s["namespace"] != "lotou-system" {
		t.Errorf("metrics-auth binding subject = %v", s)
	}
	if find(objs, "ClusterRole", "lotou-metrics-reader") == nil {
		t.Error("no metrics-reader ClusterRole for scrapers")
	}
}

// TestNamespacedMode: config/namespaced grants the manager's rules through a
// Role in the watched namespace only, and tells the manager to watch it.
func TestNamespacedMode(t *testing.T) {
	objs := render(t, "namespaced")
	if find(objs, "ClusterRole", "lotou-manager-role") != nil || find(objs, "ClusterRoleBinding", "lotou-manager-rolebinding") != nil {
		t.Error("namespaced mode still has the cluster-wide manager role")
	}
	role := find(objs, "Role", "lotou-manager-role")
	if role == nil || role.GetNamespace() != "lotou-games" {
		t.Fatalf("manager Role in lotou-games missing: %v", role)
	}
	if !reflect.DeepEqual(role.Object["rules"], generatedRules(t)) {
		t.Error("namespaced Role rules differ from the generated ClusterRole rules")
	}
	b := find(objs, "RoleBinding", "lotou-manager-rolebinding")
	if b == nil || b.GetNamespace() != "lotou-games" {
		t.Fatal("manager RoleBinding in lotou-games missing")
	}
	ref, _, _ := unstructured.NestedStringMap(b.Object, "roleRef")
	subjects, _, _ := unstructured.NestedSlice(b.Object, "subjects")
	s := subjects[0].(map[string]any)
	if ref["kind"] != "Role" || ref["name"] != "lotou-manager-role" || s["name"] != "lotou-controller-manager" || s["namespace"] != "lotou-system" {
		t.Errorf("RoleBinding roleRef %v subjects %v", ref, subjects)
	}
	if find(objs, "Namespace", "lotou-games") == nil {
		t.Error("watched namespace not created")
	}
	if args := managerArgs(t, objs); !slices.Contains(args, "--watch-namespace=lotou-games") {
		t.Errorf("manager args %v lack --watch-namespace", args)
	}
	// No cluster-wide grant of anything but the metrics reviews remains.
	for _, o := range objs {
		if o.GetKind() != "ClusterRoleBinding" {
			continue
		}
		ref, _, _ := unstructured.NestedStringMap(o.Object, "roleRef")
		if ref["name"] != "lotou-metrics-auth-role" {
			t.Errorf("ClusterRoleBinding %s binds %s cluster-wide", o.GetName(), ref["name"])
		}
	}
}

// TestPrometheusComponent renders config/default with the optional
// Prometheus component: a ServiceMonitor for the operator (HTTPS, bearer
// token) and a PodMonitor for every lotou node.
func TestPrometheusComponent(t *testing.T) {
	dir, err := os.MkdirTemp(".", ".render-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// config/default with its commented components lines switched on, as
	// its comment tells users to do.
	kz, err := os.ReadFile(filepath.Join("default", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	on := strings.Replace(string(kz), "#components:\n#- ../prometheus", "components:\n- ../prometheus", 1)
	if on == string(kz) {
		t.Fatal("config/default/kustomization.yaml lost its commented Prometheus component")
	}
	files, err := filepath.Glob(filepath.Join("default", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(f) == "kustomization.yaml" {
			b = []byte(on)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	objs := render(t, dir)
	sm := find(objs, "ServiceMonitor", "lotou-controller-manager-metrics-monitor")
	pm := find(objs, "PodMonitor", "lotou-nodes")
	if sm == nil || pm == nil {
		t.Fatalf("ServiceMonitor %v, PodMonitor %v", sm != nil, pm != nil)
	}
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if ep := eps[0].(map[string]any); ep["scheme"] != "https" || ep["port"] != "https" || ep["bearerTokenFile"] == nil {
		t.Errorf("operator endpoint = %v", ep)
	}
	sel, _, _ := unstructured.NestedStringMap(pm.Object, "spec", "selector", "matchLabels")
	if sel["app.kubernetes.io/name"] != "lotou-node" {
		t.Errorf("PodMonitor selects %v", sel)
	}
	svc := find(objs, "Service", "lotou-controller-manager-metrics-service")
	if pm.GetNamespace() != "lotou-system" {
		t.Errorf("PodMonitor namespace = %s", pm.GetNamespace())
	}
	smSel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	for k, v := range smSel {
		if svc.GetLabels()[k] != v {
			t.Errorf("ServiceMonitor selector %s=%s does not match the metrics Service labels %v", k, v, svc.GetLabels())
		}
	}
}
