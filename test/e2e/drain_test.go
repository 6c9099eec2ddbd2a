package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// stepDrain runs a real `kubectl drain` of the master's node (restricted to
// the master pod with --pod-selector, so the rest of the local cluster
// stays put). With the default policy Allow the eviction goes through; the
// node is uncordoned and the cluster settles again. With policy Block the
// drain times out on the PodDisruptionBudget and the master keeps running.
// It also checks the pods' security settings as the kubelet runs them.
func stepDrain(t *testing.T, s *suite, lc *lcState) {
	ctx := t.Context()
	master := lc.name + "-master-0"
	var pod corev1.Pod
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: master}, &pod); err != nil {
		t.Fatal(err)
	}
	if err := restrictedPod(&pod); err != nil {
		t.Error(err)
	}
	node := pod.Spec.NodeName
	selector := "--pod-selector=lotou.io/cluster=" + lc.name + ",lotou.io/role=master"
	uncordon := func() {
		if _, err := s.k(context.WithoutCancel(ctx), "uncordon", node); err != nil {
			t.Errorf("uncordon %s: %v", node, err)
		}
	}

	// Allow (default): the drain evicts the master.
	out, err := s.k(ctx, "drain", node, selector, "--timeout=90s")
	uncordon()
	if err != nil {
		t.Fatalf("kubectl drain with the default master policy: %v\n%s\n%s", err, out, s.describe(ctx, lc.name))
	}
	if err := eventually(ctx, 60*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		var p corev1.Pod
		if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: master}, &p); err != nil {
			return err
		}
		if p.UID == pod.UID {
			return fmt.Errorf("%s not evicted yet", master)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slaves := 2
	if obj, err := s.get(ctx, lc.name); err == nil {
		slaves = int(obj.GetSlaveReplicas())
	}
	if err := eventually(ctx, 180*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		return s.settled(ctx, lc.name, slaves)
	}); err != nil {
		t.Fatalf("after the drain: %v\n%s", err, s.describe(ctx, lc.name))
	}

	// Block: the drain waits on the budget and gives up; the master stays.
	if _, err := s.k(ctx, "-n", s.ns, "patch", "lc/"+lc.name, "--type=merge",
		"-p", fmt.Sprintf(`{"spec":{"master":{"disruptionPolicy":%q}}}`, lotouv1alpha1.MasterDisruptionBlock)); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if _, err := s.k(context.WithoutCancel(ctx), "-n", s.ns, "patch", "lc/"+lc.name, "--type=merge",
			"-p", `{"spec":{"master":{"disruptionPolicy":"Allow"}}}`); err != nil {
			t.Errorf("restoring the master policy: %v", err)
		}
	}()
	if err := eventually(ctx, 30*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		out, err := s.k(ctx, "-n", s.ns, "get", "pdb", lc.name+"-master", "-o", "jsonpath={.spec.maxUnavailable}/{.status.disruptionsAllowed}")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "0/0" {
			return fmt.Errorf("master PDB maxUnavailable/disruptionsAllowed = %q, want 0/0", out)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var before corev1.Pod
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: master}, &before); err != nil {
		t.Fatal(err)
	}
	out, err = s.k(ctx, "drain", node, selector, "--timeout=10s")
	uncordon()
	if err == nil {
		t.Fatalf("kubectl drain evicted the master although its policy is Block:\n%s", out)
	}
	var after corev1.Pod
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: master}, &after); err != nil {
		t.Fatal(err)
	}
	if after.UID != before.UID {
		t.Errorf("the master was replaced under policy Block")
	}
}

// restrictedPod checks what the restricted Pod Security level and the token
// handling require of a running node pod.
func restrictedPod(p *corev1.Pod) error {
	var problems []string
	if p.Spec.AutomountServiceAccountToken == nil || *p.Spec.AutomountServiceAccountToken {
		problems = append(problems, "service account token auto-mounted")
	}
	if sc := p.Spec.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		problems = append(problems, "pod runAsNonRoot not set")
	}
	for _, c := range p.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == "LOTOU_CLUSTER_TOKEN" {
				problems = append(problems, "token passed as an environment variable")
			}
		}
		if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
			problems = append(problems, c.Name+": root filesystem writable")
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("pod %s: %s", p.Name, strings.Join(problems, "; "))
	}
	return nil
}
