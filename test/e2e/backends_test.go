package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// TestBackendsSample runs config/samples/backends: a LotouCluster found
// through etcd and talking over NATS, both servers running in the cluster
// from FROM-scratch images built by hack/backend-images.sh. It forms (every
// node registered through etcd, as the master's /cluster reports it),
// scales 2 → 4 → 1 slaves, and survives the deletion of the NATS server's
// pod: no Lotou pod restarts, every node reconnects to the new NATS server,
// the cluster stays whole.
func TestBackendsSample(t *testing.T) {
	base := newSuite(t)
	if base.ctrdSock == "" {
		t.Skip("LOTOU_CONTAINERD_SOCK is not set: the etcd and NATS images cannot be imported")
	}
	s := *base
	s.ns = "lotou-e2e-backends"
	ctx := t.Context()
	cmd := filepath.Join(s.root, "hack", "backend-images.sh")
	if out, err := runEnv(ctx, []string{"LOTOU_CONTAINERD_SOCK=" + s.ctrdSock}, cmd); err != nil {
		t.Fatalf("building the etcd and NATS images: %v\n%s", err, out)
	}
	if _, err := s.installOperator(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.k(ctx, "create", "namespace", s.ns); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		t.Fatalf("creating namespace: %v", err)
	}
	if os.Getenv("LOTOU_E2E_KEEP") != "1" {
		t.Cleanup(func() {
			if _, err := s.k(context.WithoutCancel(ctx), "delete", "namespace", s.ns, "--wait=false", "--ignore-not-found"); err != nil {
				t.Logf("deleting namespace %s: %v", s.ns, err)
			}
		})
	}
	dir := filepath.Join(s.root, "config", "samples", "backends")
	for _, f := range []string{"etcd.yaml", "nats.yaml"} {
		if out, err := s.k(ctx, "-n", s.ns, "apply", "-f", filepath.Join(dir, f)); err != nil {
			t.Fatalf("kubectl apply %s: %v\n%s", f, err, out)
		}
	}
	for _, d := range []string{"lotou-etcd", "lotou-nats"} {
		if _, err := s.k(ctx, "-n", s.ns, "rollout", "status", "deploy/"+d, "--timeout=120s"); err != nil {
			t.Fatal(err)
		}
	}
	name := s.applyBackendsCluster(t, dir)

	step := func(what string, fn func(t *testing.T)) {
		if !t.Run(what, fn) {
			t.Fatalf("step %q failed; later steps skipped", what)
		}
	}
	settle := func(t *testing.T, slaves int) {
		t.Helper()
		if err := eventually(ctx, 180*time.Second, time.Second, func(ctx context.Context) error {
			return s.settled(ctx, name, slaves)
		}); err != nil {
			t.Fatalf("%v\n%s", err, s.describe(ctx, name))
		}
	}
	step("forms through etcd with 2 slaves", func(t *testing.T) {
		if _, err := s.k(ctx, "-n", s.ns, "wait", "--for=condition=Ready", "lc/"+name, "--timeout=240s"); err != nil {
			t.Fatalf("%v\n%s", err, s.describe(ctx, name))
		}
		settle(t, 2)
	})
	step("scales to 4 slaves", func(t *testing.T) {
		if _, err := s.k(ctx, "-n", s.ns, "scale", "lc/"+name, "--replicas=4"); err != nil {
			t.Fatal(err)
		}
		settle(t, 4)
	})
	step("scales to 1 slave", func(t *testing.T) {
		if _, err := s.k(ctx, "-n", s.ns, "scale", "lc/"+name, "--replicas=1"); err != nil {
			t.Fatal(err)
		}
		settle(t, 1)
	})
	step("survives the NATS pod's deletion", func(t *testing.T) {
		before, err := s.restarts(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.k(ctx, "-n", s.ns, "delete", "pod", "-l", "app.kubernetes.io/name=lotou-nats", "--wait=true"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.k(ctx, "-n", s.ns, "rollout", "status", "deploy/lotou-nats", "--timeout=120s"); err != nil {
			t.Fatal(err)
		}
		// Every Lotou node (master + 1 slave) reconnects to the new server.
		if err := eventually(ctx, 60*time.Second, time.Second, func(ctx context.Context) error {
			return s.natsClients(ctx, 2)
		}); err != nil {
			t.Fatal(err)
		}
		settle(t, 1)
		after, err := s.restarts(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Fatalf("Lotou containers restarted %d → %d times across the NATS restart", before, after)
		}
	})
}

// applyBackendsCluster applies the sample's LotouCluster with the node
// image under test and returns its name.
func (s *suite) applyBackendsCluster(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "lotoucluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var obj lotouv1alpha1.LotouCluster
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("parsing the sample: %v", err)
	}
	obj.Namespace = s.ns
	obj.Spec.Image = s.nodeImage
	doc, err := yaml.Marshal(&obj)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := s.kIn(t.Context(), string(doc), "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply the LotouCluster: %v\n%s", err, out)
	}
	return obj.Name
}

// restarts sums the restart counts of the LotouCluster's containers.
func (s *suite) restarts(ctx context.Context, name string) (int32, error) {
	var pods corev1.PodList
	if err := s.c.List(ctx, &pods, client.InNamespace(s.ns), client.MatchingLabels{"lotou.io/cluster": name}); err != nil {
		return 0, err
	}
	var n int32
	for _, p := range pods.Items {
		for _, c := range p.Status.ContainerStatuses {
			n += c.RestartCount
		}
	}
	return n, nil
}

// natsClients is nil once the NATS server reports want client connections
// (its /connz, through the API server's pod proxy).
func (s *suite) natsClients(ctx context.Context, want int) error {
	pod, err := s.k(ctx, "-n", s.ns, "get", "pod", "-l", "app.kubernetes.io/name=lotou-nats",
		"--field-selector=status.phase=Running", "-o", "jsonpath={.items[0].metadata.name}")
	if err != nil || strings.TrimSpace(pod) == "" {
		return fmt.Errorf("no running NATS pod: %v", err)
	}
	out, err := s.k(ctx, "get", "--raw", fmt.Sprintf("/api/v1/namespaces/%s/pods/%s:8222/proxy/connz", s.ns, strings.TrimSpace(pod)))
	if err != nil {
		return err
	}
	var connz struct {
		NumConnections int `json:"num_connections"`
	}
	if err := json.Unmarshal([]byte(out), &connz); err != nil {
		return fmt.Errorf("parsing connz: %w", err)
	}
	if connz.NumConnections != want {
		return fmt.Errorf("NATS has %d clients, want %d", connz.NumConnections, want)
	}
	return nil
}

// runEnv runs a command with extra environment variables and returns its
// combined output.
func runEnv(ctx context.Context, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
