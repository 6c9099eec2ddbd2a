package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// Benchmarks of issue 7, run by hack/bench-e2e.sh against the local cluster (gated by LOTOU_E2E=1 like the
// suite). Each reports its figure with b.ReportMetric; the Go ns/op is the same time.

// BenchmarkApplyToReady10Slaves times `kubectl apply` of a LotouCluster with 10 slaves until it is Ready with all
// 11 nodes registered and up in status.registeredNodes (real pods; the operator in-cluster from config/dev).
// Metric s/ready: seconds from the apply to that state, mean over the clusters created (one at a time, each with
// a new name, deleted with its pods before the next); max-s/ready the slowest.
func BenchmarkApplyToReady10Slaves(b *testing.B) {
	s := newSuite(b)
	ctx := b.Context()
	if kwok, err := s.kwokNodes(ctx); err != nil {
		b.Fatal(err)
	} else if kwok {
		b.Skip("the cluster runs kwok simulated nodes; this benchmark needs real pods (hack/bench-e2e.sh)")
	}
	s.ns = "lotou-bench"
	if err := s.ensureNamespace(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := s.installOperator(ctx); err != nil {
		b.Fatal(err)
	}
	const slaves = 10
	var worst, total time.Duration
	n := 0
	for b.Loop() {
		// A new name each time: a re-used one also measures the re-creation of its Services' DNS records.
		name := fmt.Sprintf("bench-%d-%d", time.Now().Unix()%100000, n)
		n++
		doc, err := s.lcYAML(name, slaves)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if out, err := s.kIn(ctx, doc, "apply", "-f", "-"); err != nil {
			b.Fatalf("kubectl apply lc/%s: %v\n%s", name, err, out)
		}
		if err := eventually(ctx, 5*time.Minute, 100*time.Millisecond, func(ctx context.Context) error {
			return s.readyRegistered(ctx, name, slaves)
		}); err != nil {
			b.Fatalf("lc/%s with %d slaves: %v\n%s", name, slaves, err, s.describe(ctx, name))
		}
		took := time.Since(start)
		b.StopTimer()
		total += took
		worst = max(worst, took)
		b.Logf("lc/%s: Ready with %d nodes registered %.2f s after kubectl apply", name, slaves+1, took.Seconds())
		if err := s.deleteAndWait(ctx, name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(n), "s/ready")
	b.ReportMetric(worst.Seconds(), "max-s/ready")
}

// BenchmarkKwok1000Slaves times 20 LotouClusters of 50 slaves each (1,000 slaves, 1,020 pods) on kwok simulated
// nodes, from one `kubectl apply` until every cluster is Ready. kwok runs no containers, so nothing can register:
// the operator runs out of cluster (bin/manager, $LOTOU_MANAGER_BIN) with --read-membership=false, and Ready means
// what the manager then reports: every pod of every cluster ready (kwok marks them so) and the operator's Ready
// condition True for the current generation. Metric s/all-ready: seconds for the whole set.
func BenchmarkKwok1000Slaves(b *testing.B) {
	s := newSuite(b)
	ctx := b.Context()
	if kwok, err := s.kwokNodes(ctx); err != nil {
		b.Fatal(err)
	} else if !kwok {
		b.Skip("needs kwok simulated nodes: hack/local-cluster.sh up --kwok (hack/bench-e2e.sh does it)")
	}
	const clusters, slavesEach = 20, 50
	s.ns = "lotou-kwok-bench"
	if err := s.ensureNamespace(ctx); err != nil {
		b.Fatal(err)
	}
	if out, err := s.k(ctx, "apply", "--server-side", "-k", filepath.Join(s.root, "config", "crd")); err != nil {
		b.Fatalf("installing the CRDs: %v\n%s", err, out)
	}
	if _, err := s.k(ctx, "wait", "--for=condition=Established", "crd/"+lcGVR.Resource+"."+lcGVR.Group, "--timeout=60s"); err != nil {
		b.Fatal(err)
	}
	stop, err := s.startManager(b, "--read-membership=false")
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	var docs []string
	for i := range clusters {
		doc, err := s.lcYAML(fmt.Sprintf("kwok-%02d", i), slavesEach)
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, doc)
	}
	all := strings.Join(docs, "---\n")
	var total time.Duration
	n := 0
	for b.Loop() {
		n++
		start := time.Now()
		if out, err := s.kIn(ctx, all, "apply", "-f", "-"); err != nil {
			b.Fatalf("kubectl apply of %d LotouClusters: %v\n%s", clusters, err, out)
		}
		if err := eventually(ctx, 10*time.Minute, time.Second, func(ctx context.Context) error {
			return s.allReady(ctx, clusters, clusters*(slavesEach+1))
		}); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.StopTimer()
		total += took
		b.Logf("%d LotouClusters, %d slaves: all Ready %.2f s after kubectl apply", clusters, clusters*slavesEach, took.Seconds())
		if _, err := s.k(ctx, "-n", s.ns, "delete", "lc", "--all", "--timeout=5m"); err != nil {
			b.Fatal(err)
		}
		if err := eventually(ctx, 5*time.Minute, time.Second, s.noPodsLeft); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(n), "s/all-ready")
}

// kwokNodes reports whether the cluster's nodes are kwok's simulated ones.
func (s *suite) kwokNodes(ctx context.Context) (bool, error) {
	var nodes corev1.NodeList
	if err := s.c.List(ctx, &nodes); err != nil {
		return false, fmt.Errorf("listing nodes: %w", err)
	}
	if len(nodes.Items) == 0 {
		return false, errors.New("the cluster has no nodes")
	}
	return nodes.Items[0].Labels["type"] == "kwok", nil
}

func (s *suite) ensureNamespace(ctx context.Context) error {
	if _, err := s.k(ctx, "create", "namespace", s.ns); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		return fmt.Errorf("creating namespace %s: %w", s.ns, err)
	}
	return nil
}

// lcYAML is the sample LotouCluster renamed, in s.ns, with the dev image and `slaves` slaves.
func (s *suite) lcYAML(name string, slaves int32) (string, error) {
	raw, err := os.ReadFile(filepath.Join(s.root, "config", "samples", "apps_v1alpha1_lotoucluster.yaml"))
	if err != nil {
		return "", fmt.Errorf("reading the sample: %w", err)
	}
	var obj lotouv1alpha1.LotouCluster
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		return "", fmt.Errorf("parsing the sample: %w", err)
	}
	obj.Name, obj.Namespace = name, s.ns
	obj.Spec.Image = s.nodeImage
	obj.Spec.Slaves.Replicas = ptr.To(slaves)
	out, err := yaml.Marshal(&obj)
	if err != nil {
		return "", fmt.Errorf("writing lc/%s: %w", name, err)
	}
	return string(out), nil
}

// readyRegistered is nil once lc/name is Ready for its generation with the master and `slaves` slaves up in
// status.registeredNodes.
func (s *suite) readyRegistered(ctx context.Context, name string, slaves int) error {
	obj, err := s.get(ctx, name)
	if err != nil {
		return err
	}
	if obj.Status.ObservedGeneration != obj.Generation {
		return fmt.Errorf("observedGeneration %d, want generation %d", obj.Status.ObservedGeneration, obj.Generation)
	}
	if !apimeta.IsStatusConditionTrue(obj.Status.Conditions, lotouv1alpha1.ConditionReady) {
		return fmt.Errorf("want Ready=True, conditions are %s", conditions(obj))
	}
	want := append([]string{name + "-master-0"}, slaveNames(name, slaves)...)
	var up []string
	for _, n := range obj.Status.RegisteredNodes {
		if n.Up {
			up = append(up, n.Name)
		}
	}
	slices.Sort(up)
	slices.Sort(want)
	if !slices.Equal(up, want) {
		return fmt.Errorf("registered nodes up %v, want %v", up, want)
	}
	return nil
}

// allReady is nil once there are `clusters` LotouClusters in s.ns, each Ready for its generation, and `pods`
// ready pods of theirs.
func (s *suite) allReady(ctx context.Context, clusters, pods int) error {
	var list lotouv1alpha1.LotouClusterList
	if err := s.c.List(ctx, &list, client.InNamespace(s.ns)); err != nil {
		return fmt.Errorf("listing LotouClusters: %w", err)
	}
	ready := 0
	var notReady []string
	for i := range list.Items {
		lc := &list.Items[i]
		if lc.Status.ObservedGeneration == lc.Generation &&
			apimeta.IsStatusConditionTrue(lc.Status.Conditions, lotouv1alpha1.ConditionReady) {
			ready++
		} else if len(notReady) < 3 {
			notReady = append(notReady, lc.Name+": "+conditions(lc))
		}
	}
	if ready != clusters || len(list.Items) != clusters {
		return fmt.Errorf("%d of %d LotouClusters Ready, want %d (e.g. %v)", ready, len(list.Items), clusters, notReady)
	}
	var podList corev1.PodList
	if err := s.c.List(ctx, &podList, client.InNamespace(s.ns), client.HasLabels{"lotou.io/cluster"}); err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	readyPods := 0
	for i := range podList.Items {
		if podReady(&podList.Items[i]) && podList.Items[i].DeletionTimestamp == nil {
			readyPods++
		}
	}
	if readyPods != pods {
		return fmt.Errorf("%d ready pods, want %d", readyPods, pods)
	}
	return nil
}

func (s *suite) noPodsLeft(ctx context.Context) error {
	var pods corev1.PodList
	if err := s.c.List(ctx, &pods, client.InNamespace(s.ns), client.HasLabels{"lotou.io/cluster"}); err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	if n := len(pods.Items); n > 0 {
		return fmt.Errorf("%d pods left in %s, want 0", n, s.ns)
	}
	return nil
}

// deleteAndWait deletes lc/name and waits until it and its pods are gone.
func (s *suite) deleteAndWait(ctx context.Context, name string) error {
	if _, err := s.k(ctx, "-n", s.ns, "delete", "lc/"+name, "--timeout=3m"); err != nil {
		return err
	}
	return eventually(ctx, 3*time.Minute, 500*time.Millisecond, func(ctx context.Context) error {
		if _, err := s.get(ctx, name); !apierrors.IsNotFound(err) {
			return fmt.Errorf("lc/%s still there (%v)", name, err)
		}
		return s.noPodsLeft(ctx)
	})
}

// startManager runs the manager binary out of cluster with the admin kubeconfig and extra flags; stop ends it
// (SIGTERM, then waits for it) and is idempotent. Its log goes to a file named in the benchmark's log.
func (s *suite) startManager(b *testing.B, flags ...string) (stop func(), err error) {
	bin := envOr("LOTOU_MANAGER_BIN", filepath.Join(s.root, "bin", "manager"))
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("manager binary (build it: go build -o bin/manager ./cmd/manager): %w", err)
	}
	logPath := filepath.Join(b.TempDir(), "manager.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the manager log: %w", err)
	}
	args := append([]string{"--kubeconfig", os.Getenv("KUBECONFIG"), "--metrics-bind-address=0",
		"--health-probe-bind-address=0"}, flags...)
	cmd := exec.Command(bin, args...) // #nosec G204 -- the test's own binary and flags
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM} // dies with the test binary if it is killed
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	b.Logf("manager running out of cluster: %s %s (log %s)", bin, strings.Join(args, " "), logPath)
	done := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(done)
	}()
	stopped := false
	return func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		b.Logf("manager stopped: %v", waitErr)
		_ = logf.Close()
	}, nil
}

// describe is what a failure shows about lc/name: its status and its pods.
func (s *suite) describe(ctx context.Context, name string) string {
	ctx = context.WithoutCancel(ctx)
	out, err := s.k(ctx, "-n", s.ns, "get", "lc/"+name, "-o", "jsonpath={.status}")
	if err != nil {
		out = err.Error()
	}
	pods, err := s.k(ctx, "-n", s.ns, "get", "pods", "-l", "lotou.io/cluster="+name, "-o", "wide")
	if err != nil {
		pods = err.Error()
	}
	return "status of lc/" + name + ": " + out + "\npods:\n" + pods
}

// conditions prints the conditions compactly: Type=Status(Reason: Message).
func conditions(lc *lotouv1alpha1.LotouCluster) string {
	parts := make([]string, 0, len(lc.Status.Conditions))
	for _, c := range lc.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s=%s(%s: %s)", c.Type, c.Status, c.Reason, c.Message))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}
