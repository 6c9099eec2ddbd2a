package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2/textlogger"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers"
	"github.com/lotou-io/lotou/controllers/membership"
	"github.com/lotou-io/lotou/controllers/resources"
)

// config holds the command-line flags.
type config struct {
	kubeconfig              string
	watchNamespaces         []string
	metricsAddr             string
	metricsSecure           bool
	enableHTTP2             bool
	probeAddr               string
	leaderElect             bool
	leaderElectionID        string
	maxConcurrentReconciles int
	qps                     float64
	burst                   int
	readMembership          bool
	membershipTimeout       time.Duration
	membershipRetry         time.Duration
	resyncPeriod            time.Duration
	progressDeadline        time.Duration
	verbosity               int
}

func parseFlags(fs *flag.FlagSet, args []string) (*config, error) {
	c := &config{}
	fs.StringVar(&c.kubeconfig, "kubeconfig", "", "Path to the kubeconfig file of the cluster to manage. When unset: the file(s) in $KUBECONFIG, else the in-cluster service account, else ~/.kube/config.")
	var watchNamespace string
	fs.StringVar(&watchNamespace, "watch-namespace", "", "Namespaced mode: reconcile LotouClusters only in these namespaces (comma separated), with a Role in each instead of a ClusterRole (config/namespaced). Empty: every namespace.")
	fs.StringVar(&c.metricsAddr, "metrics-bind-address", ":8443", "Address of the Prometheus /metrics endpoint; \"0\" disables it.")
	fs.BoolVar(&c.metricsSecure, "metrics-secure", true, "Serve /metrics over HTTPS, admitting only callers whose token may get the non-resource URL /metrics (TokenReview and SubjectAccessReview). false: plain HTTP open to anyone who can reach it.")
	fs.BoolVar(&c.enableHTTP2, "enable-http2", false, "Allow HTTP/2 on the metrics server (off because of the HTTP/2 rapid reset and stream cancellation CVEs).")
	fs.StringVar(&c.probeAddr, "health-probe-bind-address", ":8081", "Address of the /healthz and /readyz endpoints.")
	fs.BoolVar(&c.leaderElect, "leader-elect", false, "Elect a leader so only one replica reconciles at a time.")
	fs.StringVar(&c.leaderElectionID, "leader-election-id", "lotou-operator.lotou.io", "Name of the leader election Lease.")
	fs.IntVar(&c.maxConcurrentReconciles, "max-concurrent-reconciles", 4, "LotouClusters reconciled in parallel.")
	fs.Float64Var(&c.qps, "kube-api-qps", 50, "Sustained queries per second to the API server.")
	fs.IntVar(&c.burst, "kube-api-burst", 100, "Burst of queries to the API server.")
	fs.BoolVar(&c.readMembership, "read-membership", true, "Read each master's /cluster endpoint into status; turn off when the operator runs outside the cluster network (Ready then only reflects pod readiness).")
	fs.DurationVar(&c.membershipTimeout, "membership-timeout", membership.DefaultTimeout, "Timeout of one read of a master's /cluster endpoint.")
	fs.DurationVar(&c.membershipRetry, "membership-retry", controllers.DefaultMembershipRetry, "Delay before reading an unreachable master again.")
	fs.DurationVar(&c.resyncPeriod, "resync-period", controllers.DefaultResyncPeriod, "How often ready clusters refresh their membership status.")
	fs.DurationVar(&c.progressDeadline, "progress-deadline", controllers.DefaultProgressDeadline, "How long pods may take to become ready before a cluster is Degraded.")
	fs.IntVar(&c.verbosity, "v", 0, "Log verbosity.")
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("parsing flags: %w", err)
	}
	for ns := range strings.SplitSeq(watchNamespace, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				return nil, fmt.Errorf("--watch-namespace %q: %s", ns, strings.Join(errs, "; "))
			}
			c.watchNamespaces = append(c.watchNamespaces, ns)
		}
	}
	if c.maxConcurrentReconciles < 1 || c.qps <= 0 || c.burst < 1 {
		return nil, fmt.Errorf("max-concurrent-reconciles, kube-api-qps and kube-api-burst must be positive")
	}
	return c, nil
}

// restConfig loads the API server connection: from the kubeconfig file at
// path when given, else as controller-runtime does ($KUBECONFIG, then
// in-cluster, then ~/.kube/config).
func restConfig(path string) (*rest.Config, error) {
	if path == "" {
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("loading kubeconfig: %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading kubeconfig %s: %w", path, err)
	}
	return cfg, nil
}

// metricsOptions configures the metrics server as the kubebuilder scaffold
// does: HTTPS with controller-runtime's authentication and authorization
// filter, HTTP/2 off unless asked for.
func metricsOptions(c *config, restCfg *rest.Config) (metricsserver.Options, error) {
	opts := metricsserver.Options{BindAddress: c.metricsAddr, SecureServing: c.metricsSecure}
	if !c.enableHTTP2 {
		opts.TLSOpts = append(opts.TLSOpts, func(t *tls.Config) { t.NextProtos = []string{"http/1.1"} })
	}
	if c.metricsSecure && c.metricsAddr != "0" {
		httpClient, err := rest.HTTPClientFor(restCfg)
		if err != nil {
			return opts, fmt.Errorf("creating the metrics authorization client: %w", err)
		}
		filter, err := filters.WithAuthenticationAndAuthorization(restCfg, httpClient)
		if err != nil {
			return opts, fmt.Errorf("creating the metrics authorization filter: %w", err)
		}
		opts.FilterProvider = func(*rest.Config, *http.Client) (metricsserver.Filter, error) { return filter, nil }
	}
	return opts, nil
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	c, err := parseFlags(flag.NewFlagSet("manager", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	log := textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(c.verbosity)))
	ctrl.SetLogger(log)

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(lotouv1alpha1.AddToScheme(scheme))

	restCfg, err := restConfig(c.kubeconfig)
	if err != nil {
		return err
	}
	restCfg.QPS, restCfg.Burst = float32(c.qps), c.burst

	metricsOpts, err := metricsOptions(c, restCfg)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                        scheme,
		Logger:                        log,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        c.probeAddr,
		LeaderElection:                c.leaderElect,
		LeaderElectionID:              c.leaderElectionID,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         controllers.CacheOptions(c.watchNamespaces),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	opMetrics, err := controllers.NewMetrics(ctrlmetrics.Registry)
	if err != nil {
		return err
	}
	r := &controllers.LotouClusterReconciler{
		Client:    mgr.GetClient(),
		Metrics:   opMetrics,
		APIReader: mgr.GetAPIReader(),
		Recorder:  mgr.GetEventRecorder(resources.FieldManager),
		Options: controllers.Options{
			MaxConcurrentReconciles: c.maxConcurrentReconciles,
			MembershipRetry:         c.membershipRetry,
			ResyncPeriod:            c.resyncPeriod,
			ProgressDeadline:        c.progressDeadline,
		},
	}
	if c.readMembership {
		reader := membership.NewHTTPReader(c.membershipTimeout)
		defer reader.CloseIdleConnections()
		r.Membership = reader
	}
	if err := r.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the LotouCluster controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("adding ready check: %w", err)
	}
	log.Info("Starting manager", "leaderElection", c.leaderElect, "maxConcurrentReconciles", c.maxConcurrentReconciles,
		"watchNamespaces", c.watchNamespaces, "metricsSecure", c.metricsSecure)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("running manager: %w", err)
	}
	return nil
}
