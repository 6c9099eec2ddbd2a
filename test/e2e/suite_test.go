package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// skipReason is non-empty when the suite cannot run (no LOTOU_E2E=1).
var skipReason string

func TestMain(m *testing.M) {
	if os.Getenv("LOTOU_E2E") != "1" {
		skipReason = "end-to-end tests need a real cluster: run `make test-e2e` as root " +
			"(hack/e2e.sh brings one up and sets LOTOU_E2E=1)"
		fmt.Fprintln(os.Stderr, "test/e2e: skipped:", skipReason)
	}
	os.Exit(m.Run())
}

// suite is what every case needs: a client, the kubectl binary and where the repository is.
type suite struct {
	c         client.Client
	kubectl   string
	root      string
	ns        string
	nodeImage string
	ctrdSock  string
}

func newSuite(t testing.TB) *suite {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		t.Fatalf("loading KUBECONFIG: %v", err)
	}
	sch := clientgoscheme.Scheme
	if err := lotouv1alpha1.AddToScheme(sch); err != nil {
		t.Fatalf("adding the LotouCluster scheme: %v", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: sch})
	if err != nil {
		t.Fatalf("making a client: %v", err)
	}
	_, file, _, _ := runtime.Caller(0)
	s := &suite{
		c:         c,
		kubectl:   envOr("LOTOU_KUBECTL", "kubectl"),
		root:      filepath.Join(filepath.Dir(file), "..", ".."),
		ns:        "lotou-e2e",
		nodeImage: envOr("LOTOU_NODE_IMAGE", "lotou-node:dev"),
		ctrdSock:  os.Getenv("LOTOU_CONTAINERD_SOCK"),
	}
	return s
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// run runs a command with a timeout and returns its stdout; the error carries stderr.
func run(ctx context.Context, stdin string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), nil
}

// k runs kubectl, the way a user drives the cluster.
func (s *suite) k(ctx context.Context, args ...string) (string, error) {
	return run(ctx, "", s.kubectl, args...)
}

// kIn runs kubectl with stdin.
func (s *suite) kIn(ctx context.Context, stdin string, args ...string) (string, error) {
	return run(ctx, stdin, s.kubectl, args...)
}

// eventually polls fn every interval until it returns nil or timeout passes; it returns the last error.
func eventually(ctx context.Context, timeout, interval time.Duration, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last error
	for {
		err := fn(ctx)
		if err == nil {
			return nil
		}
		// Keep the last real reason, not the deadline that cut the final attempt short.
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, last)
		case <-tick.C:
		}
	}
}

// operatorDeployment finds the manager Deployment the dev overlay installs (container named "manager").
func (s *suite) operatorDeployment(ctx context.Context) (*appsv1.Deployment, error) {
	var list appsv1.DeploymentList
	if err := s.c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing deployments: %w", err)
	}
	for i := range list.Items {
		for _, c := range list.Items[i].Spec.Template.Spec.Containers {
			if c.Name == "manager" {
				return &list.Items[i], nil
			}
		}
	}
	return nil, errors.New("no Deployment with a manager container")
}

// lcGVR is the LotouCluster resource, for kubectl arguments.
var lcGVR = schema.GroupVersionResource{Group: lotouv1alpha1.GroupVersion.Group, Version: lotouv1alpha1.GroupVersion.Version, Resource: "lotouclusters"}

// installOperator applies config/dev with kubectl, waits for the operator's rollout and for its leader election
// (a Lease in its namespace held by one of its pods), and returns its Deployment.
func (s *suite) installOperator(ctx context.Context) (*appsv1.Deployment, error) {
	if out, err := s.k(ctx, "apply", "-k", filepath.Join(s.root, "config", "dev")); err != nil {
		return nil, fmt.Errorf("kubectl apply -k config/dev: %w\n%s", err, out)
	}
	if _, err := s.k(ctx, "wait", "--for=condition=Established", "crd/"+lcGVR.Resource+"."+lcGVR.Group, "--timeout=60s"); err != nil {
		return nil, err
	}
	d, err := s.operatorDeployment(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.k(ctx, "-n", d.Namespace, "rollout", "status", "deployment/"+d.Name, "--timeout=120s"); err != nil {
		logs, _ := s.k(context.WithoutCancel(ctx), "-n", d.Namespace, "logs", "deployment/"+d.Name, "--tail=30")
		return nil, fmt.Errorf("operator deployment %s/%s not available: %w\nlast log lines:\n%s", d.Namespace, d.Name, err, logs)
	}
	err = eventually(ctx, 60*time.Second, time.Second, func(ctx context.Context) error {
		var leases coordinationv1.LeaseList
		if err := s.c.List(ctx, &leases, client.InNamespace(d.Namespace)); err != nil {
			return err
		}
		var pods corev1.PodList
		if err := s.c.List(ctx, &pods, client.InNamespace(d.Namespace), client.MatchingLabels(d.Spec.Selector.MatchLabels)); err != nil {
			return err
		}
		var holders []string
		for _, l := range leases.Items {
			if l.Spec.HolderIdentity == nil {
				continue
			}
			holders = append(holders, *l.Spec.HolderIdentity)
			for _, p := range pods.Items {
				if strings.HasPrefix(*l.Spec.HolderIdentity, p.Name) {
					return nil
				}
			}
		}
		return fmt.Errorf("want a Lease in %s held by an operator pod, lease holders are %v", d.Namespace, holders)
	})
	if err != nil {
		return nil, fmt.Errorf("leader election: %w", err)
	}
	return d, nil
}
