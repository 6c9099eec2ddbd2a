package config

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers"
)

var (
	// Parts of a PromQL expression that hold label names, not metric names.
	labelValuesRe = regexp.MustCompile(`label_values\(([^,()]*)(\{[^}]*\})?\s*,[^)]*\)`)
	groupingRe    = regexp.MustCompile(`\b(by|without)\s*\([^)]*\)`)
	matchersRe    = regexp.MustCompile(`\{[^}]*\}`)
	metricRe      = regexp.MustCompile(`\b(lotou_|controller_runtime_|workqueue_)[a-z0-9_]+`)
	nodeMetricRe  = regexp.MustCompile(`"(lotou_[a-z0-9_]+)"`)
)

// queriedMetrics returns the metric names the dashboard's queries use.
func queriedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("grafana", "lotou-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	used := map[string][]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if s, ok := c.(string); ok && (k == "expr" || k == "definition") {
					q := labelValuesRe.ReplaceAllString(s, "$1")
					q = matchersRe.ReplaceAllString(groupingRe.ReplaceAllString(q, ""), "")
					for _, m := range metricRe.FindAllString(q, -1) {
						used[m] = append(used[m], path)
					}
				}
				walk(path+"/"+k, c)
			}
		case []any:
			for _, c := range v {
				walk(path, c)
			}
		}
	}
	walk("", doc)
	return used
}

// nodeMetrics reads the metric names lotou-node declares in runtime/node.
func nodeMetrics(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "runtime", "node", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no runtime/node sources: %v", err)
	}
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range nodeMetricRe.FindAllStringSubmatch(string(src), -1) {
			names[m[1]] = true
		}
	}
	return names
}

// operatorMetrics gathers what the manager serves: the operator's metrics
// (one observed cluster, so every vector has a series) and
// controller-runtime's, after starting a controller named lotoucluster.
func operatorMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := controllers.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	controllers.RecordForTest(m, &lotouv1alpha1.LotouCluster{})

	c, err := controller.NewUnmanaged("lotoucluster", controller.Options{
		Reconciler:         reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) { return ctrl.Result{}, nil }),
		SkipNameValidation: ptrTrue(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	names := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	// The controller registers its series as it starts (reconcile totals at
	// construction, worker gauges when its workers start): wait for all.
	for !names["controller_runtime_reconcile_total"] || !names["controller_runtime_active_workers"] ||
		!names["controller_runtime_max_concurrent_reconciles"] {
		if time.Now().After(deadline) {
			break
		}
		for _, g := range []prometheus.Gatherer{reg, ctrlmetrics.Registry} {
			fams, err := g.Gather()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fams {
				names[f.GetName()] = true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("controller: %v", err)
	}
	return names
}

func ptrTrue() *bool { b := true; return &b }

// exported tells whether name (possibly a histogram's _bucket, _sum or
// _count series) is in names.
func exported(names map[string]bool, name string) bool {
	if names[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && names[base] {
			return true
		}
	}
	return false
}

// TestDashboardMetricsExist fails when a dashboard query names a metric the
// node or the operator does not export: a renamed metric would leave an
// empty panel.
func TestDashboardMetricsExist(t *testing.T) {
	used := queriedMetrics(t)
	node := nodeMetrics(t)
	op := operatorMetrics(t)
	var missing []string
	for name, where := range used {
		var ok bool
		if strings.HasPrefix(name, "lotou_operator_") || !strings.HasPrefix(name, "lotou_") {
			ok = exported(op, name)
		} else {
			ok = exported(node, name)
		}
		if !ok {
			missing = append(missing, name+" (in "+where[0]+")")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("the dashboard queries metrics nobody exports:\n  %s", strings.Join(missing, "\n  "))
	}
	// The list: nodes (messages/s, call latency, mailbox depth, drops,
	// links) and the operator.
	for _, want := range []string{"lotou_messages_total", "lotou_call_latency_seconds_bucket", "lotou_mailbox_depth",
		"lotou_log_dropped_total", "lotou_connected_nodes", controllers.MetricClusters, controllers.MetricReadySlaves,
		controllers.MetricReconcileErrors, controllers.MetricMembershipFailures, controllers.MetricRolloutDuration + "_bucket"} {
		if len(used[want]) == 0 {
			t.Errorf("the dashboard has no panel querying %s", want)
		}
	}
}

func TestQueriedMetricsParser(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (lotou_cluster) (rate(lotou_messages_total{lotou_cluster=~"$c"}[1m]))`, []string{"lotou_messages_total"}},
		{`label_values(lotou_messages_total{namespace=~"$n"}, lotou_cluster)`, []string{"lotou_messages_total"}},
		{`histogram_quantile(0.9, sum by (le) (rate(lotou_x_bucket[5m])))`, []string{"lotou_x_bucket"}},
	}
	for _, tt := range tests {
		q := labelValuesRe.ReplaceAllString(tt.expr, "$1")
		q = matchersRe.ReplaceAllString(groupingRe.ReplaceAllString(q, ""), "")
		got := metricRe.FindAllString(q, -1)
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: got %v, want %v", tt.expr, got, tt.want)
		}
	}
}
