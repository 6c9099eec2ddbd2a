package controllers

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/lotou-io/lotou/controllers/resources"
)

// TestNamespacedModeRunsOnARole starts a second manager as a user whose
// only permissions are the generated manager rules (config/rbac/role.yaml)
// granted by a Role in one namespace, with the cache limited to that
// namespace (--watch-namespace): its caches sync and it reconciles a
// LotouCluster there without a single failed phase.
func TestNamespacedModeRunsOnARole(t *testing.T) {
	te := getEnv(t)
	ctx := context.Background()
	ns := te.namespace(t)
	g := gomega.NewWithT(t)

	root, err := repoRoot()
	g.Expect(err).NotTo(gomega.HaveOccurred())
	raw, err := os.ReadFile(filepath.Join(root, "config", "rbac", "role.yaml"))
	g.Expect(err).NotTo(gomega.HaveOccurred())
	var generated rbacv1.ClusterRole
	g.Expect(yaml.Unmarshal(raw, &generated)).To(gomega.Succeed())
	g.Expect(generated.Rules).NotTo(gomega.BeEmpty())

	user, err := te.env.AddUser(envtest.User{Name: "lotou-namespaced"}, nil)
	g.Expect(err).NotTo(gomega.HaveOccurred())
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "manager-role"}, Rules: generated.Rules}
	g.Expect(te.k8s.Create(ctx, role)).To(gomega.Succeed())
	g.Expect(te.k8s.Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "manager-rolebinding"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "lotou-namespaced"}},
	})).To(gomega.Succeed())

	cfg := user.Config()
	cfg.QPS, cfg.Burst = 200, 400
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 testScheme(),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  CacheOptions([]string{ns}),
		Controller:             config.Controller{SkipNameValidation: ptr.To(true), CacheSyncTimeout: 20 * time.Second},
	})
	g.Expect(err).NotTo(gomega.HaveOccurred())
	m, err := NewMetrics(prometheus.NewRegistry())
	g.Expect(err).NotTo(gomega.HaveOccurred())
	r := &LotouClusterReconciler{
		Client:    mgr.GetClient(),
		APIReader: mgr.GetAPIReader(),
		Metrics:   m,
		Options:   Options{MaxConcurrentReconciles: 2},
	}
	g.Expect(r.SetupWithManager(mgr)).To(gomega.Succeed())
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() {
		cancel()
		g.Expect(<-done).To(gomega.Succeed())
	}()
	syncCtx, syncCancel := context.WithTimeout(ctx, 20*time.Second)
	defer syncCancel()
	g.Expect(mgr.GetCache().WaitForCacheSync(syncCtx)).To(gomega.BeTrue(), "caches did not sync on the namespaced Role")

	lc := newLotouCluster(ns, "nsm", 1)
	g.Expect(te.k8s.Create(ctx, lc)).To(gomega.Succeed())
	eventually(t, func(g gomega.Gomega) {
		getSts(g, te.k8s, ns, "nsm-slaves")
		g.Expect(te.k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: resources.NetworkPolicyName(lc)}, &networkingv1.NetworkPolicy{})).To(gomega.Succeed())
		// The namespaced manager has reconciled it: it knows the cluster.
		g.Expect(testutil.CollectAndCount(m, MetricDesiredSlaves)).To(gomega.Equal(1))
	})
	consistently(t, time.Second, func(g gomega.Gomega) {
		g.Expect(testutil.CollectAndCount(m.reconcileErrors)).To(gomega.BeZero(), "a phase failed on the namespaced Role")
	})
}
