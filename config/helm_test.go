package config

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// helmBin returns bin/helm (make helm) or skips the test.
func helmBin(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "bin", "helm"))
	if err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("bin/helm not found: run `make helm` to compare the chart with config/")
	return ""
}

// helmTemplate renders charts/lotou-operator (CRDs included) as release
// "lotou" in namespace lotou-system.
func helmTemplate(t *testing.T, args ...string) []*unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, helmBin(t), append([]string{"template", "lotou", filepath.Join("..", "charts", "lotou-operator"),
		"--namespace", "lotou-system", "--include-crds"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr.String())
	}
	var objs []*unstructured.Unstructured
	for doc := range strings.SplitSeq(stdout.String(), "\n---") {
		m := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("helm output does not parse: %v\n%s", err, doc)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
	return objs
}

// toolLabels are set by one tool and not the other.
var toolLabels = []string{"app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "helm.sh/chart"}

// byKey normalises objects for comparison, keyed by kind/namespace/name.
// Namespaces are left out: Helm installs into an existing (or
// --create-namespace) namespace instead of creating it.
func byKey(objs []*unstructured.Unstructured) map[string]*unstructured.Unstructured {
	m := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			continue
		}
		o = o.DeepCopy()
		labels := o.GetLabels()
		for _, l := range toolLabels {
			delete(labels, l)
		}
		if o.GetKind() == "CustomResourceDefinition" {
			labels = nil // Helm installs crds/ untemplated: no common labels
		}
		o.SetLabels(labels)
		m[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o
	}
	return m
}

func compareObjects(t *testing.T, want, got map[string]*unstructured.Unstructured) {
	t.Helper()
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if want[k] == nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		w, g := want[k], got[k]
		switch {
		case g == nil:
			t.Errorf("%s: rendered by kustomize, missing from the chart", k)
		case w == nil:
			t.Errorf("%s: rendered by the chart, not by kustomize", k)
		case !reflect.DeepEqual(w.Object, g.Object):
			wy, _ := yaml.Marshal(w.Object)
			gy, _ := yaml.Marshal(g.Object)
			t.Errorf("%s differs\nkustomize:\n%s\nhelm:\n%s", k, wy, gy)
		}
	}
}

// TestHelmChartMatchesKustomize: with default values the chart renders the
// objects of config/default, and with watchNamespaces those of
// config/namespaced, object by object, so the two installs cannot drift.
func TestHelmChartMatchesKustomize(t *testing.T) {
	tests := []struct {
		name, dir string
		args      []string
	}{
		{"cluster-wide", "default", []string{"--set", "image.tag=dev"}},
		{"namespaced", "namespaced", []string{"--set", "watchNamespaces={lotou-games}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := byKey(render(t, tt.dir))
			got := byKey(helmTemplate(t, tt.args...))
			if len(want) < 10 {
				t.Fatalf("kustomize rendered only %d objects", len(want))
			}
			compareObjects(t, want, got)
		})
	}
}

// TestHelmChartFilesAreCurrent: the chart's CRD and manager rules are the
// generated ones (make manifests copies them).
func TestHelmChartFilesAreCurrent(t *testing.T) {
	for src, dst := range map[string]string{
		filepath.Join("crd", "bases", "apps.lotou.io_lotouclusters.yaml"): filepath.Join("..", "charts", "lotou-operator", "crds", "apps.lotou.io_lotouclusters.yaml"),
		filepath.Join("rbac", "role.yaml"):                                filepath.Join("..", "charts", "lotou-operator", "files", "manager-role.yaml"),
	} {
		a, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s: run make manifests", dst, src)
		}
	}
}

// TestHelmValues checks the switches the chart offers beyond config/.
func TestHelmValues(t *testing.T) {
	find := func(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
		var out []*unstructured.Unstructured
		for _, o := range objs {
			if o.GetKind() == kind {
				out = append(out, o)
			}
		}
		return out
	}
	objs := helmTemplate(t, "--set", "monitoring.enabled=true", "--set", "leaderElection.enabled=false",
		"--set", "metrics.secure=false", "--set", "watchNamespaces={a,b}")
	if n := len(find(objs, "ServiceMonitor")) + len(find(objs, "PodMonitor")); n != 2 {
		t.Errorf("monitors = %d, want a ServiceMonitor and a PodMonitor", n)
	}
	if n := len(find(objs, "Role")); n != 2 {
		t.Errorf("Roles = %d, want one manager Role per watched namespace and no leader-election Role", n)
	}
	if n := len(find(objs, "ClusterRoleBinding")); n != 0 {
		t.Errorf("ClusterRoleBindings = %d, want none (namespaced, metrics not secure)", n)
	}
	d := find(objs, "Deployment")[0]
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	joined := strings.Join(args, " ")
	for _, want := range []string{"--watch-namespace=a,b", "--metrics-secure=false"} {
		if !strings.Contains(joined, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if strings.Contains(joined, "--leader-elect") {
		t.Errorf("args %v: leader election was turned off", args)
	}
}
