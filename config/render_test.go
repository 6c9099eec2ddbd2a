package config

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// kubectl returns bin/k8s/kubectl when it exists, else kubectl from PATH.
func kubectl(t *testing.T) string {
	t.Helper()
	if p, err := filepath.Abs(filepath.Join("..", "bin", "k8s", "kubectl")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not found in bin/k8s or PATH: cannot check that the kustomizations render")
	}
	return p
}

// render runs `kubectl kustomize dir` and splits the output into objects.
func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, kubectl(t), "kustomize", dir)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	var objs []*unstructured.Unstructured
	for doc := range strings.SplitSeq(stdout.String(), "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		m := map[string]any{}
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("rendered YAML of %s does not parse: %v", dir, err)
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
	return objs
}

func TestDefaultRenders(t *testing.T) {
	objs := render(t, "default")
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[o.GetKind()]++
		if o.GetKind() != "Namespace" && o.GetKind() != "CustomResourceDefinition" &&
			!strings.HasPrefix(o.GetKind(), "Cluster") && o.GetNamespace() != "lotou-system" {
			t.Errorf("%s %s is in namespace %q, want lotou-system", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	for _, k := range []string{"Namespace", "CustomResourceDefinition", "ServiceAccount", "ClusterRole",
		"ClusterRoleBinding", "Role", "RoleBinding", "Deployment", "Service"} {
		if kinds[k] == 0 {
			t.Errorf("no %s rendered (got %v)", k, kinds)
		}
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		if len(containers) != 1 {
			t.Fatalf("deployment containers = %d", len(containers))
		}
		args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
		if !slices.Contains(args, "--leader-elect") {
			t.Errorf("manager args %v lack --leader-elect", args)
		}
		sa, _, _ := unstructured.NestedString(o.Object, "spec", "template", "spec", "serviceAccountName")
		if sa != "lotou-controller-manager" {
			t.Errorf("serviceAccountName = %q", sa)
		}
	}
}

func TestSampleRenders(t *testing.T) {
	objs := render(t, "samples")
	if len(objs) != 1 {
		t.Fatalf("samples rendered %d objects, want 1", len(objs))
	}
	raw, err := yaml.Marshal(objs[0].Object)
	if err != nil {
		t.Fatal(err)
	}
	var lc lotouv1alpha1.LotouCluster
	if err := yaml.UnmarshalStrict(raw, &lc); err != nil {
		t.Fatalf("sample is not a valid LotouCluster: %v", err)
	}
	if lc.Name != "demo" || lc.GetSlaveReplicas() != 3 || lc.Spec.Image != "lotou-node:dev" ||
		!slices.Equal(lc.Spec.Services, []string{contract.EchoService}) {
		t.Errorf("sample = %s %d %s %v", lc.Name, lc.GetSlaveReplicas(), lc.Spec.Image, lc.Spec.Services)
	}
}
