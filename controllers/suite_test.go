package controllers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2/textlogger"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
	"github.com/lotou-io/lotou/runtime/contract"
)

// testEnv is the one envtest API server of this package, with a manager
// running the reconciler against it. It is started on first use, so the
// pure unit tests of this package run without envtest binaries.
type testEnv struct {
	env     *envtest.Environment
	cfg     *rest.Config
	k8s     client.Client // uncached: tests assert on what the API server holds
	members *fakeMembership
	// requests records the manager's writes to the API server.
	requests *requestLog
	// reconciler is the manager's reconciler, for benchmarks that call it directly.
	reconciler *LotouClusterReconciler
	cancel     context.CancelFunc
	done       chan error
}

var (
	envOnce   sync.Once
	sharedEnv *testEnv
	envErr    error
	nsCounter atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedEnv != nil {
		if err := sharedEnv.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(leakOptions()...); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// leakOptions ignores process-wide goroutines of client-go and klog that
// outlive any one client by design.
func leakOptions() []goleak.Option {
	return []goleak.Option{
		goleak.IgnoreTopFunction("k8s.io/klog/v2.(*flushDaemon).run.func1"),
	}
}

// getEnv starts the shared envtest environment or fails the test with a
// message saying how to get the binaries.
func getEnv(tb testing.TB) *testEnv {
	tb.Helper()
	envOnce.Do(func() { sharedEnv, envErr = startEnv() })
	if envErr != nil {
		tb.Fatalf("envtest: %v", envErr)
	}
	return sharedEnv
}

// assetsDir is $KUBEBUILDER_ASSETS, else bin/k8s at the repository root.
func assetsDir() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(root, "bin", "k8s")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			return "", fmt.Errorf("%s not found in %s: run hack/setup-envtest.sh (builds them into bin/k8s) or set KUBEBUILDER_ASSETS", bin, dir)
		}
	}
	return dir, nil
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("getting working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

func testScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(s))
	utilruntime.Must(lotouv1alpha1.AddToScheme(s))
	return s
}

func startEnv() (*testEnv, error) {
	assets, err := assetsDir()
	if err != nil {
		return nil, err
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	logger := logr.Discard()
	if os.Getenv("LOTOU_TEST_LOG") != "" { // LOTOU_TEST_LOG=4 shows the reconciler's logs at that verbosity
		v, _ := strconv.Atoi(os.Getenv("LOTOU_TEST_LOG"))
		logger = textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(v)))
	}
	log.SetLogger(logger)
	te := &testEnv{
		env: &envtest.Environment{
			CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
			ErrorIfCRDPathMissing: true,
			BinaryAssetsDirectory: assets,
		},
		members:  &fakeMembership{views: map[string]fakeView{}},
		requests: newRequestLog(),
		done:     make(chan error, 1),
	}
	// The default /24 service range runs out after ~250 clusters (each has a
	// ClusterIP Service); the benchmark creates 500.
	te.env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/16")
	cfg, err := te.env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest from %s: %w", assets, err)
	}
	cfg.QPS, cfg.Burst = 2000, 4000
	te.cfg = cfg
	if err := te.startManager(); err != nil {
		_ = te.env.Stop()
		return nil, err
	}
	return te, nil
}

func (te *testEnv) startManager() error {
	scheme := testScheme()
	k8s, err := client.New(te.cfg, client.Options{Scheme: scheme})
	if err != nil {
		return fmt.Errorf("creating client: %w", err)
	}
	te.k8s = k8s
	mgrCfg := rest.CopyConfig(te.cfg)
	mgrCfg.WrapTransport = te.requests.wrap
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Cache:                  cache.Options{ByObject: CacheByObject()},
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	r := &LotouClusterReconciler{
		Client:     mgr.GetClient(),
		APIReader:  mgr.GetAPIReader(),
		Recorder:   mgr.GetEventRecorder(resources.FieldManager),
		Membership: te.members,
		Options:    Options{MaxConcurrentReconciles: 8, MembershipRetry: 500 * time.Millisecond, ResyncPeriod: time.Second},
	}
	te.reconciler = r
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up reconciler: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	te.cancel = cancel
	go func() { te.done <- mgr.Start(ctx) }()
	return nil
}

func (te *testEnv) stop() error {
	te.cancel()
	var mgrErr error
	select {
	case mgrErr = <-te.done:
	case <-time.After(30 * time.Second):
		mgrErr = errors.New("manager did not stop within 30s")
	}
	return errors.Join(mgrErr, te.env.Stop())
}

// namespace creates a fresh namespace for one test.
func (te *testEnv) namespace(tb testing.TB) string {
	tb.Helper()
	ns := fmt.Sprintf("t%d-%d", time.Now().UnixNano()%1e6, nsCounter.Add(1))
	if err := te.k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		tb.Fatalf("creating namespace: %v", err)
	}
	return ns
}

// fakeView is what the fake master answers for one /cluster URL.
type fakeView struct {
	view *contract.ClusterView
	err  error
}

// fakeMembership plays the masters of every cluster in the tests.
type fakeMembership struct {
	mu    sync.Mutex
	views map[string]fakeView
	reads atomic.Int64
}

func (f *fakeMembership) Read(_ context.Context, url string) (*contract.ClusterView, error) {
	f.reads.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.views[url]
	if !ok {
		return nil, fmt.Errorf("dial %s: connection refused", url)
	}
	if v.err != nil {
		return nil, v.err
	}
	cp := *v.view
	return &cp, nil
}

func (f *fakeMembership) set(url string, view *contract.ClusterView, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.views[url] = fakeView{view: view, err: err}
}
