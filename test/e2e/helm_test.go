package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
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
	t.Run("metrics need a token allowed to get /metrics", func(t *testing.T) {
		checkMetricsAuth(t, &hs, opNS)
	})
}

// checkMetricsAuth reaches the manager's HTTPS /metrics through kubectl port-forward: no token
// is refused (401), a service account without the metrics-reader ClusterRole too (403), and
// once it is bound the operator's metrics come back, counting the Ready sample.
func checkMetricsAuth(t *testing.T, s *suite, opNS string) {
	ctx := t.Context()
	pfCtx, stop := context.WithCancel(ctx)
	defer stop()
	pf := exec.CommandContext(pfCtx, s.kubectl, "-n", opNS, "port-forward", "deployment/lotou-controller-manager", ":8443")
	stdout, err := pf.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stop(); _ = pf.Wait() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			// "Forwarding from 127.0.0.1:41234 -> 8443"
			if f := strings.Fields(sc.Text()); len(f) >= 3 && f[0] == "Forwarding" && strings.HasPrefix(f[2], "127.0.0.1:") {
				addr <- f[2]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var url string
	select {
	case a := <-addr:
		url = "https://" + a + "/metrics"
	case <-time.After(30 * time.Second):
		t.Fatal("kubectl port-forward to the manager did not start")
	}
	httpc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the manager's certificate is self-signed
	}}
	get := func(ctx context.Context, token string) (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, "", err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpc.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}
	if code, _, err := get(ctx, ""); err != nil || code != http.StatusUnauthorized {
		t.Errorf("no token: status %d, err %v; want 401", code, err)
	}
	if _, err := s.k(ctx, "-n", s.ns, "create", "serviceaccount", "scraper"); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		t.Fatal(err)
	}
	token, err := s.k(ctx, "-n", s.ns, "create", "token", "scraper")
	if err != nil {
		t.Fatal(err)
	}
	token = strings.TrimSpace(token)
	if code, _, err := get(ctx, token); err != nil || code != http.StatusForbidden {
		t.Errorf("token without metrics-reader: status %d, err %v; want 403", code, err)
	}
	binding := "lotou-e2e-scraper"
	if _, err := s.k(ctx, "create", "clusterrolebinding", binding, "--clusterrole=lotou-metrics-reader",
		"--serviceaccount="+s.ns+":scraper"); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = s.k(context.WithoutCancel(ctx), "delete", "clusterrolebinding", binding, "--ignore-not-found")
	})
	// The filter caches a denial for up to 30 s.
	if err := eventually(ctx, 90*time.Second, 2*time.Second, func(ctx context.Context) error {
		code, body, err := get(ctx, token)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("status %d", code)
		}
		if !strings.Contains(body, `lotou_operator_clusters{phase="Ready"} 1`) {
			return fmt.Errorf("metrics lack one Ready cluster:\n%s", grepLines(body, "lotou_operator_"))
		}
		return nil
	}); err != nil {
		t.Errorf("token bound to metrics-reader: %v", err)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
