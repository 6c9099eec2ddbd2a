package controllers

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// benchClusters is how many LotouClusters one benchmark iteration creates;
// LOTOU_BENCH_CLUSTERS overrides it.
const benchClusters = 500

// BenchmarkCreateClusters creates a batch of LotouClusters (500, or
// $LOTOU_BENCH_CLUSTERS) per iteration in a fresh namespace of the envtest
// API server and waits until every child object of every cluster exists (a
// Secret, two Services, two StatefulSets and two PodDisruptionBudgets
// each). It reports clusters/s over all iterations. Run it as
//
//	go test ./controllers -run '^$' -bench BenchmarkCreateClusters -benchtime=1x
//
// The target is 500 clusters in at most 60 s, so s/batch must stay <= 60.
func BenchmarkCreateClusters(b *testing.B) {
	te := getEnv(b)
	ctx := context.Background()
	n := benchClusters
	if v, err := strconv.Atoi(os.Getenv("LOTOU_BENCH_CLUSTERS")); err == nil && v > 0 {
		n = v
	}
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		ns := te.namespace(b)
		b.StartTimer()
		start := time.Now()
		if err := createClusters(ctx, te.k8s, ns, n); err != nil {
			b.Fatal(err)
		}
		if err := waitForChildren(ctx, te.k8s, ns, n, 5*time.Minute); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "clusters/s")
	b.ReportMetric(total.Seconds()/float64(b.N), "s/batch")
	b.ReportMetric(float64(n), "clusters/batch")
}

// BenchmarkSteadyReconciles measures reconciles per second of settled
// clusters, the work a resync of every cluster costs: it creates a batch of
// LotouClusters (500, or $LOTOU_BENCH_CLUSTERS) once, waits until the
// manager stopped writing, then reconciles every cluster b.N times through
// the manager's reconciler (reads from its cache). A settled cluster must
// cost no write: the benchmark fails on any write request. Run it as
//
//	go test ./controllers -run '^$' -bench BenchmarkSteadyReconciles -benchtime=3x
func BenchmarkSteadyReconciles(b *testing.B) {
	te := getEnv(b)
	ctx := context.Background()
	n := benchClusters
	if v, err := strconv.Atoi(os.Getenv("LOTOU_BENCH_CLUSTERS")); err == nil && v > 0 {
		n = v
	}
	ns := te.namespace(b)
	if err := createClusters(ctx, te.k8s, ns, n); err != nil {
		b.Fatal(err)
	}
	if err := waitForChildren(ctx, te.k8s, ns, n, 5*time.Minute); err != nil {
		b.Fatal(err)
	}
	if err := waitQuiet(ctx, te.requests, ns, time.Second, 2*time.Minute); err != nil {
		b.Fatal(err)
	}
	writes := te.requests.count(ns)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		for i := range n {
			req := ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: fmt.Sprintf("c%d", i)}}
			if _, err := te.reconciler.Reconcile(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if w := te.requests.since(ns, writes); len(w) > 0 {
		b.Fatalf("settled clusters got %d write requests, first: %s", len(w), w[0])
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "reconciles/s")
	b.ReportMetric(float64(n), "clusters")
}

// waitQuiet waits until the manager sent no write to ns for quiet.
func waitQuiet(ctx context.Context, l *requestLog, ns string, quiet, timeout time.Duration) error {
	last, lastChange := l.count(ns), time.Now()
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		if c := l.count(ns); c != last {
			last, lastChange = c, time.Now()
		}
		return time.Since(lastChange) >= quiet, nil
	})
}

// createClusters creates n LotouClusters in ns from a few goroutines.
func createClusters(ctx context.Context, c client.Client, ns string, n int) error {
	const creators = 8
	var wg sync.WaitGroup
	errs := make(chan error, creators)
	for w := range creators {
		wg.Go(func() {
			for i := w; i < n; i += creators {
				if err := c.Create(ctx, newLotouCluster(ns, fmt.Sprintf("c%d", i), 3)); err != nil {
					errs <- fmt.Errorf("creating cluster %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

// waitForChildren polls the API server until ns holds the children of n clusters.
func waitForChildren(ctx context.Context, c client.Client, ns string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	managed := client.MatchingLabels{resources.LabelManagedBy: resources.ManagedBy}
	lists := []struct {
		list client.ObjectList
		want int
	}{
		{&appsv1.StatefulSetList{}, 2 * n},
		{&policyv1.PodDisruptionBudgetList{}, 2 * n},
		{&corev1.ServiceList{}, 2 * n},
		{&corev1.SecretList{}, n},
	}
	for _, l := range lists {
		var got int
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Until(deadline), true, func(ctx context.Context) (bool, error) {
			if err := c.List(ctx, l.list, client.InNamespace(ns), managed); err != nil {
				return false, fmt.Errorf("listing: %w", err)
			}
			got = metaLen(l.list)
			return got >= l.want, nil
		})
		if err != nil {
			return fmt.Errorf("waiting for %T (%d of %d objects): %w", l.list, got, l.want, err)
		}
	}
	return nil
}

func metaLen(l client.ObjectList) int {
	switch v := l.(type) {
	case *appsv1.StatefulSetList:
		return len(v.Items)
	case *policyv1.PodDisruptionBudgetList:
		return len(v.Items)
	case *corev1.ServiceList:
		return len(v.Items)
	case *corev1.SecretList:
		return len(v.Items)
	}
	return 0
}
