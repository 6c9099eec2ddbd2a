package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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

// TestLotouCluster runs the user journey in order: install, apply, scale, roll, kill, refuse, autoscale, delete.
// Each step builds on the previous one, so the first failure stops the rest.
func TestLotouCluster(t *testing.T) {
	s := newSuite(t)
	ctx := t.Context()
	steps := []struct {
		name string
		fn   func(t *testing.T, s *suite, lc *lcState)
	}{
		{"install operator with kubectl apply -k config/dev", stepInstall},
		{"sample becomes Ready with every node registered", stepSample},
		{"scale to 5 slaves", stepScaleUp},
		{"scale to 1 slave, removed slaves leave gracefully", stepScaleDown},
		{"image change rolls slaves before the master", stepImageChange},
		{"force-deleted slave is marked down and re-registers", stepKillSlave},
		{"deleted master is replaced and the name table rebuilt", stepKillMaster},
		{"kubectl drain evicts the master (policy Allow) and waits with policy Block", stepDrain},
		{"invalid LotouCluster refused with the CEL message", stepInvalid},
		{"HPA resolves pods through status.selector", stepHPA},
		{"delete garbage-collects everything", stepDelete},
		{"operator logged no RBAC denial", stepNoForbidden},
	}
	lc := &lcState{}
	if _, err := s.k(ctx, "create", "namespace", s.ns); err != nil && !strings.Contains(err.Error(), "AlreadyExists") {
		t.Fatalf("creating namespace: %v", err)
	}
	// Node pods must run under the restricted Pod Security Standard.
	if _, err := s.k(ctx, "label", "namespace", s.ns, "--overwrite",
		"pod-security.kubernetes.io/enforce=restricted", "pod-security.kubernetes.io/enforce-version=latest"); err != nil {
		t.Fatalf("labelling namespace: %v", err)
	}
	if os.Getenv("LOTOU_E2E_KEEP") != "1" {
		t.Cleanup(func() {
			// Whatever the steps left behind (after a failure: the LotouCluster, its pods, the HPA).
			if _, err := s.k(context.WithoutCancel(ctx), "delete", "namespace", s.ns, "--wait=false", "--ignore-not-found"); err != nil {
				t.Logf("deleting namespace %s: %v", s.ns, err)
			}
		})
	}
	keepGoing := os.Getenv("LOTOU_E2E_KEEP_GOING") == "1"
	for _, st := range steps {
		if !t.Run(st.name, func(t *testing.T) { st.fn(t, s, lc) }) && !keepGoing {
			t.Fatalf("step %q failed; later steps skipped (LOTOU_E2E_KEEP_GOING=1 runs them anyway)", st.name)
		}
	}
}

// lcState is what steps pass on: the LotouCluster under test and the operator's namespace.
type lcState struct {
	name, opNS string
}

func stepInstall(t *testing.T, s *suite, lc *lcState) {
	d, err := s.installOperator(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	lc.opNS = d.Namespace
}

// sampleYAML is config/samples' LotouCluster with the dev image, in the test namespace.
func (s *suite) sampleYAML(t *testing.T) (string, *lotouv1alpha1.LotouCluster) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(s.root, "config", "samples", "apps_v1alpha1_lotoucluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var obj lotouv1alpha1.LotouCluster
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		t.Fatalf("parsing the sample: %v", err)
	}
	obj.Namespace = s.ns
	obj.Spec.Image = s.nodeImage
	out, err := yaml.Marshal(&obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(out), &obj
}

func (s *suite) get(ctx context.Context, name string) (*lotouv1alpha1.LotouCluster, error) {
	var obj lotouv1alpha1.LotouCluster
	err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name}, &obj)
	return &obj, err
}

// settled is nil once the operator has seen the latest spec, the cluster is Ready and exactly the master and
// `slaves` slaves are registered and up.
func (s *suite) settled(ctx context.Context, name string, slaves int) error {
	obj, err := s.get(ctx, name)
	if err != nil {
		return err
	}
	if obj.Status.ObservedGeneration != obj.Generation {
		return fmt.Errorf("observedGeneration %d, generation %d", obj.Status.ObservedGeneration, obj.Generation)
	}
	if !apimeta.IsStatusConditionTrue(obj.Status.Conditions, lotouv1alpha1.ConditionReady) {
		return fmt.Errorf("not Ready: %v", obj.Status.Conditions)
	}
	// The nodes up are exactly the master and the slaves; nodes that left may stay listed as down.
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
	for _, n := range want {
		if !slices.Contains(obj.Status.GlobalServices, "echo:"+n) {
			return fmt.Errorf("global name echo:%s missing (have %v)", n, obj.Status.GlobalServices)
		}
	}
	return nil
}

func slaveNames(name string, n int) []string {
	out := make([]string, 0, n)
	for i := range n {
		out = append(out, fmt.Sprintf("%s-slaves-%d", name, i))
	}
	return out
}

func (s *suite) masterAddr(ctx context.Context, name string) (string, error) {
	obj, err := s.get(ctx, name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s-master.%s.svc:%d", name, s.ns, obj.GetPort()), nil
}

// call runs `lotouctl call echo:<to> echo "<word>"` inside pod `from` and checks the reply.
func (s *suite) call(ctx context.Context, name, from, to string) error {
	addr, err := s.masterAddr(ctx, name)
	if err != nil {
		return err
	}
	word := "ping-" + to
	out, err := s.k(ctx, "-n", s.ns, "exec", from, "--", "/lotouctl", "--master", addr, "call",
		"echo:"+to, "echo", fmt.Sprintf("%q", word))
	if err != nil {
		return err
	}
	if !strings.Contains(out, word) {
		return fmt.Errorf("reply %q does not echo %q", out, word)
	}
	return nil
}

func stepSample(t *testing.T, s *suite, lc *lcState) {
	ctx := t.Context()
	doc, obj := s.sampleYAML(t)
	lc.name = obj.Name
	if out, err := s.kIn(ctx, doc, "apply", "-f", "-"); err != nil {
		t.Fatalf("kubectl apply sample: %v\n%s", err, out)
	}
	if _, err := s.k(ctx, "-n", s.ns, "wait", "--for=condition=Ready", "lc/"+lc.name, "--timeout=240s"); err != nil {
		t.Fatalf("%v\n%s", err, s.describe(ctx, lc.name))
	}
	slaves := int(obj.GetSlaveReplicas())
	if err := eventually(ctx, 60*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		return s.settled(ctx, lc.name, slaves)
	}); err != nil {
		t.Fatal(err)
	}
	// kubectl get lc shows the CRD's printer columns.
	out, err := s.k(ctx, "-n", s.ns, "get", "lc", lc.name)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := s.k(ctx, "get", "crd", lcGVR.Resource+"."+lcGVR.Group, "-o",
		"jsonpath={.spec.versions[0].additionalPrinterColumns[*].name}")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(cols) == "" {
		t.Fatal("the CRD has no printer columns")
	}
	header := strings.SplitN(out, "\n", 2)[0]
	for _, c := range strings.Fields(cols) {
		if !strings.Contains(header, strings.ToUpper(c)) {
			t.Errorf("kubectl get lc header %q lacks column %q", header, c)
		}
	}
	if slaves >= 2 {
		if err := s.call(ctx, lc.name, lc.name+"-slaves-0", lc.name+"-slaves-1"); err != nil {
			t.Fatalf("slave to slave echo: %v", err)
		}
	}
}

func stepScaleUp(t *testing.T, s *suite, lc *lcState) {
	ctx := t.Context()
	if _, err := s.k(ctx, "-n", s.ns, "scale", "lc/"+lc.name, "--replicas=5"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(ctx, 180*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		return s.settled(ctx, lc.name, 5)
	}); err != nil {
		t.Fatalf("%v\n%s", err, s.describe(ctx, lc.name))
	}
	if err := s.call(ctx, lc.name, lc.name+"-slaves-4", lc.name+"-slaves-0"); err != nil {
		t.Fatalf("echo from the newest slave: %v", err)
	}
}

// gracefulLeave matches what a slave logs when it deregisters on SIGTERM, and timeoutLine what it must not log.
var (
	gracefulLeave = regexp.MustCompile(`"Leaving"|(?i)(leaving|deregist|graceful)`)
	timeoutLine   = regexp.MustCompile(`(?i)(timed out|timeout)`)
	// rbacDenied is how the API server words an RBAC denial (not other "forbidden" refusals, such as
	// writing into a terminating namespace).
	rbacDenied = regexp.MustCompile(`forbidden: User "[^"]+" cannot`)
)

func stepScaleDown(t *testing.T, s *suite, lc *lcState) {
	ctx := t.Context()
	// Follow the logs of the slaves that will go, until their containers end; the streams must be attached
	// (first lines read) before the pods go.
	var follows []*logFollow
	for _, n := range slaveNames(lc.name, 5)[1:] {
		f, err := s.followLogs(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.stop)
		follows = append(follows, f)
	}
	for _, f := range follows {
		if err := f.attached(30 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.k(ctx, "-n", s.ns, "scale", "lc/"+lc.name, "--replicas=1"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(ctx, 180*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		return s.settled(ctx, lc.name, 1)
	}); err != nil {
		t.Fatalf("%v\n%s", err, s.describe(ctx, lc.name))
	}
	// Their global names are gone from the master.
	obj, err := s.get(ctx, lc.name)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range follows {
		if slices.Contains(obj.Status.GlobalServices, "echo:"+f.pod) {
			t.Errorf("echo:%s still registered after %s left (global names: %v)", f.pod, f.pod, obj.Status.GlobalServices)
		}
	}
	for _, f := range follows {
		out, err := f.ended(60 * time.Second)
		if err != nil {
			t.Error(err)
			continue
		}
		tail := lastLines(out, 20)
		if !gracefulLeave.MatchString(tail) {
			t.Errorf("%s: want a graceful leave (%s) in its last log lines, got:\n%s", f.pod, gracefulLeave, tail)
		}
		if timeoutLine.MatchString(tail) {
			t.Errorf("%s: left by timeout, want a graceful leave:\n%s", f.pod, tail)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func stepImageChange(t *testing.T, s *suite, lc *lcState) {
	ctx := t.Context()
	if _, err := s.k(ctx, "-n", s.ns, "scale", "lc/"+lc.name, "--replicas=2"); err != nil {
		t.Fatal(err)
	}
	if err := eventually(ctx, 120*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		return s.settled(ctx, lc.name, 2)
	}); err != nil {
		t.Fatalf("%v\n%s", err, s.describe(ctx, lc.name))
	}
	before, err := s.get(ctx, lc.name)
	if err != nil {
		t.Fatal(err)
	}
	newImage := tagImage(t, s, "e2e-roll")
	if _, err := s.k(ctx, "-n", s.ns, "patch", "lc/"+lc.name, "--type=merge",
		"-p", fmt.Sprintf(`{"spec":{"image":%q}}`, newImage)); err != nil {
		t.Fatal(err)
	}
	// Record when each pod first runs the new image and is Ready.
	readyAt := map[string]time.Time{}
	names := append([]string{lc.name + "-master-0"}, slaveNames(lc.name, 2)...)
	err = eventually(ctx, 240*time.Second, 200*time.Millisecond, func(ctx context.Context) error {
		var pods corev1.PodList
		if err := s.c.List(ctx, &pods, client.InNamespace(s.ns), client.MatchingLabels{"lotou.io/cluster": lc.name}); err != nil {
			return err
		}
		for _, p := range pods.Items {
			if _, seen := readyAt[p.Name]; seen || p.DeletionTimestamp != nil {
				continue
			}
			if podImage(&p) == newImage && podReady(&p) {
				readyAt[p.Name] = time.Now()
			}
		}
		if len(readyAt) < len(names) {
			return fmt.Errorf("pods ready on %s so far: %v, want all of %v", newImage, readyAt, names)
		}
		return s.settled(ctx, lc.name, 2)
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, s.describe(ctx, lc.name))
	}
	for _, n := range names[1:] {
		if !readyAt[n].Before(readyAt[names[0]]) {
			t.Errorf("slave %s rolled at %s, not before the master at %s", n, readyAt[n], readyAt[names[0]])
		}
	}
	after, err := s.get(ctx, lc.name)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range before.Status.GlobalServices {
		if !slices.Contains(after.Status.GlobalServices, g) {
			t.Errorf("global name %s lost in the roll (after: %v)", g, after.Status.GlobalServices)
		}
	}
}

// tagImage gives the node image a second tag in containerd and returns it.
func tagImage(t *testing.T, s *suite, tag string) string {
	t.Helper()
	if s.ctrdSock == "" {
		t.Fatal("LOTOU_CONTAINERD_SOCK not set (hack/e2e.sh sets it)")
	}
	src := s.nodeImage
	if !strings.Contains(src, "/") {
		src = "docker.io/library/" + src
	}
	dst := src[:strings.LastIndex(src, ":")] + ":" + tag
	_, err := run(t.Context(), "", "ctr", "--address", s.ctrdSock, "-n", "k8s.io", "images", "tag", "--force", src, dst)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(dst, "docker.io/library/")
}

func podImage(p *corev1.Pod) string {
	if len(p.Spec.Containers) == 0 {
		return ""
	}
	return p.Spec.Containers[0].Image
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func podUID(ctx context.Context, s *suite, name string) (string, error) {
	var p corev1.Pod
	if err := s.c.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: name}, &p); err != nil {
		return "", err
	}
	return string(p.UID), nil
}

// upNodeID is the id of the up node named name in LotouCluster lcName's
// master's view.
func upNodeID(ctx context.Context, s *suite, lcName, name string) (uint16, error) {
	v, err := s.clusterView(ctx, s.ns, lcName)
	if err != nil {
		return 0, err
	}
	for _, n := range v.Nodes {
		if n.Name == name && n.Up {
			return n.ID, nil
		}
	}
	return 0, fmt.Errorf("%s is not up in the master's view: %+v", name, v.Nodes)
}

func stepKillSlave(t *testing.T, s *suite, lc *lcState) {
	ctx := t.Context()
	victim := lc.name + "-slaves-1"
	oldUID, err := podUID(ctx, s, victim)
	if err != nil {
		t.Fatal(err)
	}
	oldID, err := upNodeID(ctx, s, lc.name, victim)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.k(ctx, "-n", s.ns, "delete", "pod", victim, "--grace-period=0", "--force"); err != nil {
		t.Fatal(err)
	}
	// The master marks the killed process down (or drops it): its node id is
	// no longer up. The new pod may register under the same name at once (a
	// new id: ids are never reused), so the name's own state proves nothing,
	// and the operator's status may never show the moment between.
	if err := eventually(ctx, 30*time.Second, 100*time.Millisecond, func(ctx context.Context) error {
		v, err := s.clusterView(ctx, s.ns, lc.name)
		if err != nil {
			return err
		}
		for _, n := range v.Nodes {
			if n.ID == oldID && n.Up {
				return fmt.Errorf("%s (node %d) still up", victim, oldID)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("master never marked %s down: %v", victim, err)
	}
	if err := eventually(ctx, 120*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		uid, err := podUID(ctx, s, victim)
		if err != nil {
			return err
		}
		if uid == oldUID {
			return fmt.Errorf("%s not recreated yet", victim)
		}
		return s.settled(ctx, lc.name, 2)
	}); err != nil {
		t.Fatalf("%v\n%s", err, s.describe(ctx, lc.name))
	}
}

func stepKillMaster(t *testing.T, s *suite, lc *lcState) {
	ctx := t.Context()
	master := lc.name + "-master-0"
	before, err := s.get(ctx, lc.name)
	if err != nil {
		t.Fatal(err)
	}
	oldUID, err := podUID(ctx, s, master)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.k(ctx, "-n", s.ns, "delete", "pod", master); err != nil {
		t.Fatal(err)
	}
	if err := eventually(ctx, 120*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		uid, err := podUID(ctx, s, master)
		if err != nil {
			return err
		}
		if uid == oldUID {
			return fmt.Errorf("master not recreated yet")
		}
		if err := s.settled(ctx, lc.name, 2); err != nil {
			return err
		}
		after, err := s.get(ctx, lc.name)
		if err != nil {
			return err
		}
		for _, g := range before.Status.GlobalServices {
			if !slices.Contains(after.Status.GlobalServices, g) {
				return fmt.Errorf("global name %s not back yet", g)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.call(ctx, lc.name, lc.name+"-slaves-0", lc.name+"-slaves-1"); err != nil {
		t.Fatalf("echo after the master came back: %v", err)
	}
}

func stepInvalid(t *testing.T, s *suite, _ *lcState) {
	ctx := t.Context()
	bad := fmt.Sprintf(`apiVersion: %s
kind: LotouCluster
metadata: {name: invalid, namespace: %s}
spec: {image: %s, port: 5000, httpPort: 5000}
`, lotouv1alpha1.GroupVersion.String(), s.ns, s.nodeImage)
	_, err := s.kIn(ctx, bad, "apply", "-f", "-")
	if err == nil {
		t.Fatal("kubectl apply accepted port == httpPort")
	}
	if !strings.Contains(err.Error(), "spec.port and spec.httpPort must be different ports") {
		t.Fatalf("refused without the CEL message: %v", err)
	}
}

func stepHPA(t *testing.T, s *suite, lc *lcState) {
	ctx := t.Context()
	hpa := fmt.Sprintf(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  scaleTargetRef: {apiVersion: %[3]s, kind: LotouCluster, name: %[1]s}
  minReplicas: 2
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
`, lc.name, s.ns, lotouv1alpha1.GroupVersion.String())
	if _, err := s.kIn(ctx, hpa, "apply", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = s.k(context.WithoutCancel(ctx), "-n", s.ns, "delete", "hpa", lc.name) }()
	// No metrics server runs here, so the HPA cannot compute CPU; what it must do is read the scale
	// subresource and find the pods through status.selector (AbleToScale=True, currentReplicas set, no
	// selector error).
	err := eventually(ctx, 60*time.Second, time.Second, func(ctx context.Context) error {
		out, err := s.k(ctx, "-n", s.ns, "get", "hpa", lc.name, "-o",
			`jsonpath={.status.currentReplicas}{"|"}{range .status.conditions[*]}{.type}={.status}:{.reason};{end}`)
		if err != nil {
			return err
		}
		cur, conds, _ := strings.Cut(out, "|")
		if strings.Contains(conds, "InvalidSelector") || strings.Contains(conds, "SelectorRequired") ||
			strings.Contains(conds, "FailedGetScale") {
			return fmt.Errorf("HPA cannot resolve the pods: %s", conds)
		}
		if !strings.Contains(conds, "AbleToScale=True") || cur != "2" {
			return fmt.Errorf("HPA not resolved yet: currentReplicas=%q conditions=%s", cur, conds)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func stepDelete(t *testing.T, s *suite, lc *lcState) {
	ctx := t.Context()
	if _, err := s.k(ctx, "-n", s.ns, "delete", "lc/"+lc.name, "--timeout=120s"); err != nil {
		t.Fatal(err)
	}
	sel := client.MatchingLabels{"lotou.io/cluster": lc.name}
	err := eventually(ctx, 120*time.Second, 500*time.Millisecond, func(ctx context.Context) error {
		lists := map[string]client.ObjectList{
			"statefulsets": &appsv1.StatefulSetList{}, "services": &corev1.ServiceList{},
			"secrets": &corev1.SecretList{}, "pods": &corev1.PodList{},
		}
		for kind, l := range lists {
			if err := s.c.List(ctx, l, client.InNamespace(s.ns), sel); err != nil {
				return err
			}
			if n := apimeta.LenList(l); n > 0 {
				return fmt.Errorf("%d %s of lc/%s left, want 0", n, kind, lc.name)
			}
		}
		out, err := s.k(ctx, "-n", s.ns, "get", "pdb", "-l", "lotou.io/cluster="+lc.name, "-o", "name")
		if err != nil {
			return err
		}
		if strings.TrimSpace(out) != "" {
			return fmt.Errorf("PDBs of lc/%s left: %s, want none", lc.name, out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func stepNoForbidden(t *testing.T, s *suite, lc *lcState) {
	ctx := t.Context()
	d, err := s.operatorDeployment(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.k(ctx, "-n", d.Namespace, "logs", "deployment/"+d.Name, "--all-containers")
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, line := range strings.Split(out, "\n") {
		if rbacDenied.MatchString(line) {
			if denied++; denied <= 5 {
				t.Errorf("operator hit a missing RBAC rule: %s", line)
			}
		}
	}
	if denied > 5 {
		t.Errorf("... %d RBAC denials in all", denied)
	}
	_ = lc
}
