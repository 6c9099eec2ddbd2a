package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
)

// upgradeFrom is the pinned commit whose operator the upgrade case starts from: the last commit
// before the restricted pod defaults, the desired-hash annotation and the slave spread, so the
// upgrade changes both pod templates.
const upgradeFrom = "d68f241"

// TestOperatorUpgrade runs the operator built from upgradeFrom, creates a LotouCluster, upgrades
// the operator to the working tree's build (kubectl apply -k config/dev, as a user would) and
// asserts which game pods restart: exactly the pods of a role whose pod template the new build
// changed. This tree adds a topology spread to the slaves, so every slave is replaced; the
// master is replaced only if its template changed too (the restricted security context and the
// hash annotation do), and then only after the last slave. The cluster ends Ready with every
// node registered. Then the same build is deployed again (a rollout restart of the operator):
// no template changes, no game pod restarts.
func TestOperatorUpgrade(t *testing.T) {
	s := newSuite(t)
	ctx := t.Context()
	us := *s
	us.ns = "lotou-e2e-upgrade"

	oldImage, oldRoot := buildOldOperator(t, s)
	overlay := oldOverlay(t, oldRoot, oldImage)
	if out, err := s.k(ctx, "delete", "-k", filepath.Join(s.root, "config", "dev"), "--ignore-not-found", "--wait=true", "--timeout=180s"); err != nil {
		t.Fatalf("removing the current install: %v\n%s", err, out)
	}
	if out, err := s.k(ctx, "apply", "-k", overlay); err != nil {
		t.Fatalf("installing the %s operator: %v\n%s", upgradeFrom, err, out)
	}
	d, err := s.operatorDeployment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.k(ctx, "-n", d.Namespace, "rollout", "status", "deployment/"+d.Name, "--timeout=180s"); err != nil {
		t.Fatalf("%s operator not available: %v", upgradeFrom, err)
	}
	if _, err := s.k(ctx, "create", "namespace", us.ns); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := s.k(context.WithoutCancel(ctx), "delete", "namespace", us.ns, "--wait=false", "--ignore-not-found"); err != nil {
			t.Logf("deleting namespace %s: %v", us.ns, err)
		}
	})
	// The sample as a plain document: marshalling the Go type would add fields (networkPolicy: {})
	// that the old CRD refuses.
	_, obj := us.sampleYAML(t)
	name := obj.Name
	slaves := int(obj.GetSlaveReplicas())
	doc := us.rawSample(t)
	if out, err := us.kIn(ctx, doc, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply sample: %v\n%s", err, out)
	}
	if err := eventually(ctx, 240*time.Second, time.Second, func(ctx context.Context) error {
		return us.settled(ctx, name, slaves)
	}); err != nil {
		t.Fatalf("sample under the %s operator: %v\n%s", upgradeFrom, err, us.describe(ctx, name))
	}
	before, err := us.pods(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	revBefore, err := us.revisions(ctx, name)
	if err != nil {
		t.Fatal(err)
	}

	// Upgrade to the working tree's build.
	upgradeStart := time.Now()
	if _, err := s.installOperator(ctx); err != nil {
		t.Fatalf("upgrading the operator: %v", err)
	}
	// Done when the cluster is Ready, the operator says Progressing=False (it holds the master
	// until the slaves are ready, so Ready alone may come before the master's turn), and every
	// role whose pod template changed has all its pods replaced.
	var after map[string]podInfo
	var revAfter map[string]string
	if err := eventually(ctx, 420*time.Second, time.Second, func(ctx context.Context) error {
		// The old Ready and Progressing conditions still hold until the new build has acted:
		// wait for its mark on both StatefulSets first.
		if err := us.appliedByNewBuild(ctx, name); err != nil {
			return err
		}
		if err := us.settled(ctx, name, slaves); err != nil {
			return err
		}
		lc, err := us.get(ctx, name)
		if err != nil {
			return err
		}
		if !apimeta.IsStatusConditionFalse(lc.Status.Conditions, lotouv1alpha1.ConditionProgressing) {
			return fmt.Errorf("still progressing: %s", conditions(lc))
		}
		if revAfter, err = us.revisions(ctx, name); err != nil {
			return err
		}
		if after, err = us.pods(ctx, name); err != nil {
			return err
		}
		for n, p := range after {
			if revAfter[roleOf(n)] != revBefore[roleOf(n)] && p.uid == before[n].uid {
				return fmt.Errorf("pod %s not replaced yet", n)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("after the upgrade: %v\n%s", err, us.describe(ctx, name))
	}
	// This tree's builder spreads slaves across nodes (controllers/resources/spread.go), which
	// the pinned commit did not: the slaves' template must have changed.
	if revAfter["slaves"] == revBefore["slaves"] {
		t.Errorf("slaves StatefulSet revision unchanged (%s): the new build was expected to change the slave template", revAfter["slaves"])
	}
	var lastSlave time.Time
	for _, n := range slaveNames(name, slaves) {
		p, ok := after[n]
		if !ok {
			t.Fatalf("slave %s missing after the upgrade", n)
		}
		if p.created.After(lastSlave) {
			lastSlave = p.created
		}
	}
	master := after[name+"-master-0"]
	masterChanged := revAfter["master"] != revBefore["master"]
	switch {
	case masterChanged && master.created.Before(lastSlave):
		t.Errorf("master replaced at %s, before the last slave (%s): the master must roll last", master.created, lastSlave)
	case !masterChanged && master.uid != before[name+"-master-0"].uid:
		t.Errorf("master restarted although its pod template did not change")
	}
	t.Logf("upgrade from %s: %d slaves replaced, master template changed: %v, master replaced: %v; settled %s after the new operator was applied",
		upgradeFrom, slaves, masterChanged, master.uid != before[name+"-master-0"].uid, time.Since(upgradeStart).Round(time.Second))

	// The same build deployed again: no pod template changes, no game pod restarts.
	if out, err := s.k(ctx, "-n", d.Namespace, "rollout", "restart", "deployment/"+d.Name); err != nil {
		t.Fatalf("restarting the operator: %v\n%s", err, out)
	}
	if _, err := s.k(ctx, "-n", d.Namespace, "rollout", "status", "deployment/"+d.Name, "--timeout=180s"); err != nil {
		t.Fatal(err)
	}
	stsBefore := us.generations(t, name)
	time.Sleep(20 * time.Second) // a window in which nothing may happen: there is no event to wait for
	again, err := us.pods(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	for n, p := range again {
		if p.uid != after[n].uid {
			t.Errorf("pod %s restarted when the same operator build was deployed again", n)
		}
	}
	if g := us.generations(t, name); !maps.Equal(g, stsBefore) {
		t.Errorf("StatefulSet generations changed from %v to %v without a spec change", stsBefore, g)
	}
	if err := us.settled(ctx, name, slaves); err != nil {
		t.Error(err)
	}
}

// buildOldOperator checks out upgradeFrom in a git worktree, builds its manager and imports it
// into the node's containerd as lotou-operator:<commit>. It returns the image and the worktree.
func buildOldOperator(t *testing.T, s *suite) (image, dir string) {
	t.Helper()
	ctx := t.Context()
	dir = filepath.Join(t.TempDir(), "old")
	if out, err := run(ctx, "", "git", "-C", s.root, "worktree", "add", "--detach", dir, upgradeFrom); err != nil {
		t.Fatalf("git worktree add %s: %v\n%s", upgradeFrom, err, out)
	}
	t.Cleanup(func() {
		if out, err := run(context.WithoutCancel(ctx), "", "git", "-C", s.root, "worktree", "remove", "--force", dir); err != nil {
			t.Logf("git worktree remove: %v\n%s", err, out)
		}
	})
	bin := filepath.Join(dir, "bin", "manager")
	build := fmt.Sprintf("cd %q && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o %q ./cmd/manager", dir, bin)
	if out, err := run(ctx, "", "bash", "-c", build); err != nil {
		t.Fatalf("building the %s manager: %v\n%s", upgradeFrom, err, out)
	}
	image = "lotou-operator:" + upgradeFrom
	tar := filepath.Join(dir, "manager.tar")
	if out, err := run(ctx, "", filepath.Join(s.root, "hack", "imagetool"), "-o", tar, "-t", image,
		"--entrypoint", "/manager", "--add", bin+":/manager", "--user", "65532:65532"); err != nil {
		t.Fatalf("building the %s image: %v\n%s", upgradeFrom, err, out)
	}
	if s.ctrdSock == "" {
		t.Fatal("LOTOU_CONTAINERD_SOCK unset: hack/e2e.sh sets it")
	}
	if out, err := run(ctx, "", "ctr", "--address", s.ctrdSock, "-n", "k8s.io", "images", "import", tar); err != nil {
		t.Fatalf("importing %s: %v\n%s", image, err, out)
	}
	return image, dir
}

// oldOverlay writes an overlay of the old commit's config/dev (in oldRoot) that runs image.
func oldOverlay(t *testing.T, oldRoot, image string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "overlay")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, filepath.Join(oldRoot, "config", "dev"))
	if err != nil {
		t.Fatal(err)
	}
	name, tag, _ := strings.Cut(image, ":")
	kz := fmt.Sprintf("resources:\n- %s\nimages:\n- name: lotou-operator\n  newName: %s\n  newTag: %s\n", rel, name, tag)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(kz), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// podInfo is what the upgrade case compares of one game pod.
type podInfo struct {
	uid     string
	created time.Time
}

func (s *suite) pods(ctx context.Context, name string) (map[string]podInfo, error) {
	var list corev1.PodList
	if err := s.c.List(ctx, &list, client.InNamespace(s.ns), client.MatchingLabels{"lotou.io/cluster": name}); err != nil {
		return nil, err
	}
	out := map[string]podInfo{}
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = podInfo{uid: string(p.UID), created: p.CreationTimestamp.Time}
		}
	}
	return out, nil
}

// revisions returns the update revision of each role's StatefulSet.
func (s *suite) revisions(ctx context.Context, name string) (map[string]string, error) {
	out := map[string]string{}
	for _, role := range []string{"master", "slaves"} {
		var sts appsv1.StatefulSet
		if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name + "-" + role}, &sts); err != nil {
			return nil, err
		}
		out[role] = sts.Status.UpdateRevision
	}
	return out, nil
}

// appliedByNewBuild is nil once both StatefulSets carry the desired-object hash that only this
// tree's operator writes (the pinned commit did not) and the StatefulSet controller has seen
// their latest spec.
func (s *suite) appliedByNewBuild(ctx context.Context, name string) error {
	for _, role := range []string{"master", "slaves"} {
		var sts appsv1.StatefulSet
		if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name + "-" + role}, &sts); err != nil {
			return err
		}
		if sts.Annotations["lotou.io/desired-hash"] == "" {
			return fmt.Errorf("StatefulSet %s not yet applied by the new operator", sts.Name)
		}
		if sts.Status.ObservedGeneration != sts.Generation {
			return fmt.Errorf("StatefulSet %s: generation %d not observed yet", sts.Name, sts.Generation)
		}
	}
	return nil
}

// roleOf maps a game pod name to its StatefulSet role.
func roleOf(pod string) string {
	if strings.Contains(pod, "-master-") {
		return "master"
	}
	return "slaves"
}

// generations returns the metadata.generation of each role's StatefulSet.
func (s *suite) generations(t *testing.T, name string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, role := range []string{"master", "slaves"} {
		var sts appsv1.StatefulSet
		if err := s.c.Get(t.Context(), client.ObjectKey{Namespace: s.ns, Name: name + "-" + role}, &sts); err != nil {
			t.Fatal(err)
		}
		out[role] = sts.Generation
	}
	return out
}

// rawSample is config/samples' LotouCluster document with only the namespace and the image
// changed, so it holds no field the sample does not (an older CRD would refuse unknown ones).
func (s *suite) rawSample(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.root, "config", "samples", "apps_v1alpha1_lotoucluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	md, _ := m["metadata"].(map[string]any)
	spec, _ := m["spec"].(map[string]any)
	if md == nil || spec == nil {
		t.Fatal("the sample has no metadata or spec")
	}
	md["namespace"] = s.ns
	spec["image"] = s.nodeImage
	out, err := yaml.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
