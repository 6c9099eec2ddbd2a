package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHelmInstall installs the operator with the Helm chart instead of kustomize (any kustomize
// install is removed first: both own the same cluster-scoped names), runs the sample to Ready with
// every node registered, and uninstalls. The CRD stays (Helm never deletes crds/), so the next
// test's `kubectl apply -k config/dev` takes it over.
func TestHelmInstall(t *testing.T) {
	s := newSuite(t)
	ctx := t.Context()
	helm := filepath.Join(s.root, "bin", "helm")
	if _, err := os.Stat(helm); err != nil {
		t.Fatalf("%s missing: run `make helm` first (.ci/run does)", helm)
	}
	const release, opNS, ns = "lotou-e2e", "lotou-helm", "lotou-e2e-helm"
	if out, err := s.k(ctx, "delete", "-k", filepath.Join(s.root, "config", "dev"), "--ignore-not-found", "--wait=true", "--timeout=180s"); err != nil {
		t.Fatalf("removing a kustomize install: %v\n%s", err, out)
	}
	h := func(ctx context.Context, args ...string) (string, error) { return run(ctx, "", helm, args...) }
	out, err := h(ctx, "install", release, filepath.Join(s.root, "charts", "lotou-operator"),
		"--namespace", opNS, "--create-namespace", "--wait", "--timeout", "180s",
		"--set", "image.repository=lotou-operator", "--set", "image.tag=dev", "--set", "image.pullPolicy=Never")
	if err != nil {
		logs, _ := s.k(context.WithoutCancel(ctx), "-n", opNS, "logs", "deployment/lotou-controller-manager", "--tail=30")
		t.Fatalf("helm install: %v\n%s\noperator log:\n%s", err, out, logs)
	}
	t.Cleanup(func() {
		ctx := context.WithoutCancel(ctx)
		if out, err := s.k(ctx, "delete", "namespace", ns, "--ignore-not-found", "--timeout=120s"); err != nil {
			t.Logf("deleting namespace %s: %v\n%s", ns, err, out)
		}
		if out, err := h(ctx, "uninstall", release, "--namespace", opNS, "--wait", "--timeout", "120s"); err != nil {
			t.Errorf("helm uninstall: %v\n%s", err, out)
		}
		if _, err := s.k(ctx, "delete", "namespace", opNS, "--ignore-not-found", "--wait=false"); err != nil {
			t.Logf("deleting namespace %s: %v", opNS, err)
		}
	})
	// The chart installed what kustomize would: check a few objects exist under the same names.
	for _, obj := range []string{"clusterrole/lotou-manager-role", "clusterrole/lotou-metrics-auth-role",
		"-n " + opNS + " service/lotou-controller-manager-metrics-service", "-n " + opNS + " networkpolicy/lotou-controller-manager"} {
		if _, err := s.k(ctx, append([]string{"get"}, strings.Fields(obj)...)...); err != nil {
			t.Errorf("helm install lacks %s: %v", obj, err)
		}
	}
	if _, err := s.k(ctx, "create", "namespace", ns); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		t.Fatal(err)
	}
	hs := *s
	hs.ns = ns
	doc, obj := hs.sampleYAML(t)
	if out, err := hs.kIn(ctx, doc, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply sample: %v\n%s", err, out)
	}
	if _, err := hs.k(ctx, "-n", ns, "wait", "--for=condition=Ready", "lc/"+obj.Name, "--timeout=240s"); err != nil {
		t.Fatalf("%v\n%s", err, hs.describe(ctx, obj.Name))
	}
	if err := eventually(ctx, 60*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		return hs.settled(ctx, obj.Name, int(obj.GetSlaveReplicas()))
	}); err != nil {
		t.Fatal(fmt.Errorf("sample under the Helm-installed operator: %w", err))
	}
}
