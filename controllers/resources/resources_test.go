package resources

import (
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

func newCluster() *lotouv1alpha1.LotouCluster {
	return &lotouv1alpha1.LotouCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "games", UID: types.UID("uid-1")},
		Spec: lotouv1alpha1.LotouClusterSpec{
			Image:    "lotou-node:dev",
			Services: []string{"echo", "chat"},
			Slaves:   lotouv1alpha1.SlavesSpec{Replicas: ptr.To[int32](3)},
		},
	}
}

func envMap(t *testing.T, c corev1.Container) map[string]corev1.EnvVar {
	t.Helper()
	m := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := m[e.Name]; dup {
			t.Fatalf("duplicate env %s", e.Name)
		}
		m[e.Name] = e
	}
	return m
}

func TestNames(t *testing.T) {
	lc := newCluster()
	tests := []struct{ got, want string }{
		{TokenSecretName(lc), "demo-token"},
		{MasterServiceName(lc), "demo-master"},
		{NodesServiceName(lc), "demo-nodes"},
		{MasterName(lc), "demo-master"},
		{SlavesName(lc), "demo-slaves"},
		{MasterEndpoint(lc), "demo-master.games.svc:4000"},
		{ClusterURL(lc), "http://demo-master.games.svc:8080/cluster"},
		{SlaveSelector(lc), "lotou.io/cluster=demo,lotou.io/role=slave"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestEnvContract(t *testing.T) {
	lc := newCluster()
	lc.Spec.Port = 5000
	lc.Spec.HTTPPort = 9090
	lc.Spec.Config = lotouv1alpha1.NodeConfig{
		HeartbeatInterval: &metav1.Duration{Duration: 2 * time.Second},
		CallTimeout:       &metav1.Duration{Duration: 7 * time.Second},
		LogLevel:          "debug",
	}
	tests := []struct {
		role, key, want string
	}{
		{contract.RoleSlave, contract.EnvRole, contract.RoleSlave},
		{contract.RoleMaster, contract.EnvRole, contract.RoleMaster},
		{contract.RoleSlave, contract.EnvListen, ":5000"},
		{contract.RoleSlave, contract.EnvHTTP, ":9090"},
		{contract.RoleSlave, contract.EnvAdvertise, "$(POD_NAME).demo-nodes.games.svc:5000"},
		{contract.RoleMaster, contract.EnvAdvertise, "$(POD_NAME).demo-nodes.games.svc:5000"},
		{contract.RoleSlave, contract.EnvMaster, "demo-master.games.svc:5000"},
		{contract.RoleSlave, contract.EnvServices, "echo,chat"},
		{contract.RoleSlave, contract.EnvLogLevel, "debug"},
		{contract.RoleSlave, contract.EnvHeartbeatInterval, "2s"},
		{contract.RoleSlave, contract.EnvCallTimeout, "7s"},
	}
	for _, tt := range tests {
		t.Run(tt.role+"/"+tt.key, func(t *testing.T) {
			env := Env(lc, tt.role, nil)
			var found bool
			for i, e := range env {
				if e.Name != tt.key {
					continue
				}
				found = true
				if e.Value != tt.want {
					t.Errorf("%s = %q, want %q", tt.key, e.Value, tt.want)
				}
				if tt.key == contract.EnvAdvertise && !before(env, EnvPodName, i) {
					t.Errorf("%s must come after %s for $(...) expansion", tt.key, EnvPodName)
				}
			}
			if !found {
				t.Errorf("%s missing", tt.key)
			}
		})
	}
}

func before(env []corev1.EnvVar, name string, idx int) bool {
	for i, e := range env[:idx] {
		if e.Name == name {
			return i < idx
		}
	}
	return false
}

func TestEnvDefaultsAndRefs(t *testing.T) {
	lc := newCluster()
	env := Env(lc, contract.RoleMaster, nil)
	m := map[string]corev1.EnvVar{}
	for _, e := range env {
		m[e.Name] = e
	}
	if _, ok := m[contract.EnvMaster]; ok {
		t.Errorf("master must not get %s", contract.EnvMaster)
	}
	if got := m[contract.EnvHeartbeatInterval].Value; got != contract.DefaultHeartbeatInterval.String() {
		t.Errorf("heartbeat default = %q", got)
	}
	if got := m[contract.EnvLogLevel].Value; got != contract.DefaultLogLevel {
		t.Errorf("log level default = %q", got)
	}
	if _, ok := m[contract.EnvClusterToken]; ok {
		t.Errorf("the token must not travel as %s", contract.EnvClusterToken)
	}
	if got := m[contract.EnvTokenFile].Value; got != TokenFilePath {
		t.Errorf("%s = %q, want %q", contract.EnvTokenFile, got, TokenFilePath)
	}
	nn := m[contract.EnvNodeName].ValueFrom
	if nn == nil || nn.FieldRef == nil || nn.FieldRef.FieldPath != "metadata.name" {
		t.Errorf("node name must be the pod name, got %+v", nn)
	}
}

func TestEnvUserExtras(t *testing.T) {
	lc := newCluster()
	extra := []corev1.EnvVar{
		{Name: "GAME_MODE", Value: "ranked"},
		{Name: contract.EnvRole, Value: "standalone"},
		{Name: contract.EnvMaster, Value: "elsewhere:1"},
		{Name: contract.EnvTokenFile, Value: "/tmp/x"},
		{Name: contract.EnvClusterToken, Value: "guessed"},
	}
	tests := []struct {
		role, key, want string
		present         bool
	}{
		{contract.RoleSlave, "GAME_MODE", "ranked", true},
		{contract.RoleSlave, contract.EnvRole, contract.RoleSlave, true},
		{contract.RoleSlave, contract.EnvMaster, "demo-master.games.svc:4000", true},
		{contract.RoleMaster, contract.EnvMaster, "", false},
		{contract.RoleMaster, contract.EnvTokenFile, TokenFilePath, true},
		{contract.RoleSlave, contract.EnvClusterToken, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.role+"/"+tt.key, func(t *testing.T) {
			m := envMap(t, corev1.Container{Env: Env(lc, tt.role, extra)})
			e, ok := m[tt.key]
			if ok != tt.present {
				t.Fatalf("present = %v, want %v", ok, tt.present)
			}
			if ok && e.Value != tt.want {
				t.Errorf("%s = %q, want %q", tt.key, e.Value, tt.want)
			}
		})
	}
}

func TestStatefulSets(t *testing.T) {
	lc := newCluster()
	lc.Spec.Slaves.PodLabels = map[string]string{"team": "red", contract.LabelRole: "hijack"}
	lc.Spec.Slaves.MaxUnavailable = ptr.To(intstr.FromString("25%"))
	lc.Spec.Master.NodeSelector = map[string]string{"pool": "stable"}
	tests := []struct {
		name         string
		sts          *appsv1.StatefulSet
		wantName     string
		role         string
		replicas     int32
		image        string
		policy       appsv1.PodManagementPolicyType
		wantMaxUnav  *intstr.IntOrString
		nodeSelector map[string]string
	}{
		{"master", MasterStatefulSet(lc, "", ""), "demo-master", contract.RoleMaster, 1, "lotou-node:dev", appsv1.OrderedReadyPodManagement, nil, map[string]string{"pool": "stable"}},
		{"master pinned image", MasterStatefulSet(lc, "lotou-node:old", ""), "demo-master", contract.RoleMaster, 1, "lotou-node:old", appsv1.OrderedReadyPodManagement, nil, map[string]string{"pool": "stable"}},
		{"slaves", SlavesStatefulSet(lc, ""), "demo-slaves", contract.RoleSlave, 3, "lotou-node:dev", appsv1.ParallelPodManagement, ptr.To(intstr.FromString("25%")), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.sts
			if s.Name != tt.wantName || s.Namespace != "games" {
				t.Errorf("name = %s/%s", s.Namespace, s.Name)
			}
			if *s.Spec.Replicas != tt.replicas {
				t.Errorf("replicas = %d, want %d", *s.Spec.Replicas, tt.replicas)
			}
			if s.Spec.ServiceName != "demo-nodes" {
				t.Errorf("serviceName = %q", s.Spec.ServiceName)
			}
			if s.Spec.PodManagementPolicy != tt.policy {
				t.Errorf("policy = %s", s.Spec.PodManagementPolicy)
			}
			sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
			if err != nil {
				t.Fatal(err)
			}
			if !sel.Matches(labels.Set(s.Spec.Template.Labels)) {
				t.Errorf("selector %s does not match template labels %v", sel, s.Spec.Template.Labels)
			}
			if got := s.Spec.Template.Labels[contract.LabelRole]; got != tt.role {
				t.Errorf("role label = %q, want %q", got, tt.role)
			}
			if len(s.OwnerReferences) != 1 || s.OwnerReferences[0].UID != "uid-1" || !*s.OwnerReferences[0].Controller {
				t.Errorf("owner refs = %+v", s.OwnerReferences)
			}
			ps := s.Spec.Template.Spec
			if *ps.TerminationGracePeriodSeconds < 30 {
				t.Errorf("grace period %d < 30s", *ps.TerminationGracePeriodSeconds)
			}
			if len(ps.Containers) != 1 {
				t.Fatalf("containers = %d", len(ps.Containers))
			}
			c := ps.Containers[0]
			if c.Image != tt.image || c.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("image = %s %s", c.Image, c.ImagePullPolicy)
			}
			if c.LivenessProbe.HTTPGet.Path != contract.PathHealthz || c.ReadinessProbe.HTTPGet.Path != contract.PathReadyz {
				t.Errorf("probes = %s, %s", c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
			}
			if envMap(t, c)[contract.EnvRole].Value != tt.role {
				t.Errorf("env role mismatch")
			}
			var mu *intstr.IntOrString
			if ru := s.Spec.UpdateStrategy.RollingUpdate; ru != nil {
				mu = ru.MaxUnavailable
			}
			if (mu == nil) != (tt.wantMaxUnav == nil) || (mu != nil && *mu != *tt.wantMaxUnav) {
				t.Errorf("maxUnavailable = %v, want %v", mu, tt.wantMaxUnav)
			}
			if len(tt.nodeSelector) != len(ps.NodeSelector) || ps.NodeSelector["pool"] != tt.nodeSelector["pool"] {
				t.Errorf("nodeSelector = %v", ps.NodeSelector)
			}
		})
	}
	if got := SlavesStatefulSet(lc, "").Spec.Template.Labels["team"]; got != "red" {
		t.Errorf("user pod label lost: %q", got)
	}
}

func TestServices(t *testing.T) {
	lc := newCluster()
	tests := []struct {
		name      string
		svc       *corev1.Service
		wantName  string
		headless  bool
		notReady  bool
		selRole   string
		selLabels int
	}{
		{"master", MasterService(lc), "demo-master", false, false, contract.RoleMaster, 2},
		{"nodes", NodesService(lc), "demo-nodes", true, true, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.svc
			if s.Name != tt.wantName {
				t.Errorf("name = %s", s.Name)
			}
			if (s.Spec.ClusterIP == corev1.ClusterIPNone) != tt.headless {
				t.Errorf("clusterIP = %q", s.Spec.ClusterIP)
			}
			if s.Spec.PublishNotReadyAddresses != tt.notReady {
				t.Errorf("publishNotReadyAddresses = %v", s.Spec.PublishNotReadyAddresses)
			}
			if len(s.Spec.Selector) != tt.selLabels || s.Spec.Selector[contract.LabelRole] != tt.selRole {
				t.Errorf("selector = %v", s.Spec.Selector)
			}
			if len(s.Spec.Ports) != 2 || s.Spec.Ports[0].Port != contract.DefaultPort || s.Spec.Ports[1].Port != contract.DefaultHTTPPort {
				t.Errorf("ports = %+v", s.Spec.Ports)
			}
		})
	}
}

func TestPDBs(t *testing.T) {
	lc := newCluster()
	lc.Spec.Slaves.MaxUnavailable = ptr.To(intstr.FromInt32(2))
	m, s := MasterPDB(lc), SlavesPDB(lc)
	if m.Name != "demo-master" || m.Spec.MaxUnavailable.IntValue() != 1 || m.Spec.MinAvailable != nil {
		t.Errorf("master pdb = %+v", m.Spec)
	}
	if m.Spec.Selector.MatchLabels[contract.LabelRole] != contract.RoleMaster {
		t.Errorf("master pdb selector = %v", m.Spec.Selector)
	}
	if s.Name != "demo-slaves" || s.Spec.MaxUnavailable.IntValue() != 2 || s.Spec.MinAvailable != nil {
		t.Errorf("slaves pdb = %+v", s.Spec)
	}
	if s.Spec.Selector.MatchLabels[contract.LabelRole] != contract.RoleSlave {
		t.Errorf("slaves pdb selector = %v", s.Spec.Selector)
	}
}

func TestTokenSecret(t *testing.T) {
	lc := newCluster()
	s := TokenSecret(lc, []byte("abc"))
	if s.Name != "demo-token" || string(s.Data[TokenKey]) != "abc" || s.Type != corev1.SecretTypeOpaque {
		t.Errorf("secret = %+v", s)
	}
	if s.OwnerReferences[0].Kind != "LotouCluster" || s.OwnerReferences[0].APIVersion != "apps.lotou.io/v1alpha1" {
		t.Errorf("owner = %+v", s.OwnerReferences[0])
	}
}

func ExampleSlavesStatefulSet() {
	lc := &lotouv1alpha1.LotouCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "default"},
		Spec:       lotouv1alpha1.LotouClusterSpec{Image: "lotou-node:dev", Slaves: lotouv1alpha1.SlavesSpec{Replicas: ptr.To[int32](3)}},
	}
	sts := SlavesStatefulSet(lc, "")
	fmt.Println(sts.Name, *sts.Spec.Replicas, sts.Spec.Template.Spec.Containers[0].Image)
	// Output: demo-slaves 3 lotou-node:dev
}
