package resources

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// TestRestrictedDefaults checks the pod fields the restricted Pod Security
// Standard requires, on both roles.
func TestRestrictedDefaults(t *testing.T) {
	lc := newCluster()
	for _, sts := range []struct {
		role string
		spec corev1.PodSpec
	}{{"master", MasterStatefulSet(lc, "", "h").Spec.Template.Spec}, {"slaves", SlavesStatefulSet(lc, "h").Spec.Template.Spec}} {
		t.Run(sts.role, func(t *testing.T) {
			ps, c := sts.spec.SecurityContext, sts.spec.Containers[0]
			sc := c.SecurityContext
			checks := []struct {
				name string
				ok   bool
			}{
				{"pod runAsNonRoot", ps != nil && ptr.Deref(ps.RunAsNonRoot, false)},
				{"pod runAsUser non-zero", ps != nil && ptr.Deref(ps.RunAsUser, 0) != 0},
				{"pod seccomp RuntimeDefault", ps != nil && ps.SeccompProfile != nil && ps.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
				{"no privilege escalation", sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation},
				{"drop ALL", sc != nil && sc.Capabilities != nil && len(sc.Capabilities.Drop) == 1 && sc.Capabilities.Drop[0] == "ALL" && len(sc.Capabilities.Add) == 0},
				{"read-only root", sc != nil && ptr.Deref(sc.ReadOnlyRootFilesystem, false)},
				{"no service account token", sts.spec.AutomountServiceAccountToken != nil && !*sts.spec.AutomountServiceAccountToken},
				{"token mounted read-only", len(c.VolumeMounts) == 1 && c.VolumeMounts[0].MountPath == TokenDir && c.VolumeMounts[0].ReadOnly},
				{"token volume from the Secret", len(sts.spec.Volumes) == 1 && sts.spec.Volumes[0].Secret != nil && sts.spec.Volumes[0].Secret.SecretName == "demo-token"},
			}
			for _, ch := range checks {
				if !ch.ok {
					t.Errorf("%s: not satisfied", ch.name)
				}
			}
		})
	}
}

func TestSecurityContextOverride(t *testing.T) {
	lc := newCluster()
	lc.Spec.Slaves.PodSecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}
	lc.Spec.Slaves.SecurityContext = &corev1.SecurityContext{ReadOnlyRootFilesystem: ptr.To(false)}
	spec := SlavesStatefulSet(lc, "").Spec.Template.Spec
	if got := spec.SecurityContext; ptr.Deref(got.RunAsUser, 0) != 1000 || got.RunAsNonRoot != nil {
		t.Errorf("pod securityContext = %+v, want the user's, whole", got)
	}
	if got := spec.Containers[0].SecurityContext; ptr.Deref(got.ReadOnlyRootFilesystem, true) || got.Capabilities != nil {
		t.Errorf("container securityContext = %+v, want the user's, whole", got)
	}
	if m := MasterStatefulSet(lc, "", "").Spec.Template.Spec; !ptr.Deref(m.SecurityContext.RunAsNonRoot, false) {
		t.Error("the master keeps its defaults when only the slaves override")
	}
}

func TestGateAndDrain(t *testing.T) {
	lc := newCluster()
	lc.Spec.Slaves.DrainTimeout = &metav1.Duration{Duration: 90 * time.Second}
	lc.Spec.Gate = &lotouv1alpha1.GateSpec{Enabled: true, Port: 7100, Service: lotouv1alpha1.GateServiceSpec{
		Type: lotouv1alpha1.GateServiceLoadBalancer, Annotations: map[string]string{"lb": "internal"},
	}}
	slaves := SlavesStatefulSet(lc, "").Spec.Template.Spec
	env := envMap(t, slaves.Containers[0])
	if env[contract.EnvGate].Value != ":7100" || env[contract.EnvDrainTimeout].Value != "1m30s" {
		t.Errorf("gate env = %q, drain env = %q", env[contract.EnvGate].Value, env[contract.EnvDrainTimeout].Value)
	}
	if got := ptr.Deref(slaves.TerminationGracePeriodSeconds, 0); got != 105 {
		t.Errorf("slaves terminationGracePeriodSeconds = %d, want 90+15", got)
	}
	ports := slaves.Containers[0].Ports
	if len(ports) != 3 || ports[2].Name != PortNameGate || ports[2].ContainerPort != 7100 {
		t.Errorf("slave ports = %+v", ports)
	}
	master := MasterStatefulSet(lc, "", "").Spec.Template.Spec
	if len(master.Containers[0].Ports) != 2 || envMap(t, master.Containers[0])[contract.EnvGate].Name != "" {
		t.Error("the master has no gate")
	}
	svc := GateService(lc)
	if svc.Name != "demo-gate" || svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Annotations["lb"] != "internal" ||
		svc.Spec.Selector[contract.LabelRole] != contract.RoleSlave || svc.Spec.Ports[0].Port != 7100 || svc.Spec.Ports[0].TargetPort != intstr.FromString(PortNameGate) {
		t.Errorf("gate Service = %+v", svc)
	}
	lc.Spec.Gate = nil
	if _, ok := envMap(t, SlavesStatefulSet(lc, "").Spec.Template.Spec.Containers[0])[contract.EnvGate]; ok {
		t.Error("no LOTOU_GATE without spec.gate")
	}
}

func TestBackends(t *testing.T) {
	lc := newCluster()
	if env := envMap(t, SlavesStatefulSet(lc, "").Spec.Template.Spec.Containers[0]); env[contract.EnvDiscovery].Name != "" || env[contract.EnvTransport].Name != "" {
		t.Error("defaults must not set backend variables (pod templates of existing clusters stay the same)")
	}
	lc.Spec.Discovery = &lotouv1alpha1.DiscoverySpec{Type: "etcd", Etcd: &lotouv1alpha1.EtcdSpec{
		Endpoints: []string{"http://e1:2379", "http://e2:2379"}, SecretRef: &corev1.LocalObjectReference{Name: "etcd-auth"},
		TLSSecretRef: &corev1.LocalObjectReference{Name: "etcd-tls"},
	}}
	lc.Spec.Transport = &lotouv1alpha1.TransportSpec{Type: "nats", NATS: &lotouv1alpha1.NATSSpec{URL: "nats://n:4222", SecretRef: &corev1.LocalObjectReference{Name: "nats-auth"}}}
	spec := MasterStatefulSet(lc, "", "").Spec.Template.Spec
	env := envMap(t, spec.Containers[0])
	want := map[string]string{
		contract.EnvDiscovery: "etcd", contract.EnvEtcdEndpoints: "http://e1:2379,http://e2:2379", contract.EnvEtcdTLSDir: EtcdTLSDir,
		contract.EnvTransport: "nats", contract.EnvNATSURL: "nats://n:4222", contract.EnvNATSCreds: NATSDir + "/creds",
	}
	for k, v := range want {
		if env[k].Value != v {
			t.Errorf("%s = %q, want %q", k, env[k].Value, v)
		}
	}
	for k, ref := range map[string][2]string{
		contract.EnvEtcdUsername: {"etcd-auth", "username"}, contract.EnvEtcdPassword: {"etcd-auth", "password"}, contract.EnvNATSToken: {"nats-auth", "token"},
	} {
		sk := env[k].ValueFrom
		if sk == nil || sk.SecretKeyRef == nil || sk.SecretKeyRef.Name != ref[0] || sk.SecretKeyRef.Key != ref[1] {
			t.Errorf("%s must come from Secret %s key %s, got %+v", k, ref[0], ref[1], sk)
		}
	}
	mounts := map[string]string{}
	for _, m := range spec.Containers[0].VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["etcd-tls"] != EtcdTLSDir || mounts["nats"] != NATSDir || len(spec.Volumes) != 3 {
		t.Errorf("mounts = %v, volumes = %d", mounts, len(spec.Volumes))
	}
}

func TestPDBPolicies(t *testing.T) {
	lc := newCluster()
	tests := []struct {
		policy string
		want   intstr.IntOrString
	}{{"", intstr.FromInt32(1)}, {lotouv1alpha1.MasterDisruptionAllow, intstr.FromInt32(1)}, {lotouv1alpha1.MasterDisruptionBlock, intstr.FromInt32(0)}}
	for _, tt := range tests {
		t.Run("policy "+tt.policy, func(t *testing.T) {
			lc.Spec.Master.DisruptionPolicy = tt.policy
			pdb := MasterPDB(lc)
			if pdb.Spec.MinAvailable != nil || pdb.Spec.MaxUnavailable == nil || *pdb.Spec.MaxUnavailable != tt.want {
				t.Errorf("master PDB = %+v", pdb.Spec)
			}
			if ptr.Deref(pdb.Spec.UnhealthyPodEvictionPolicy, "") != policyv1.AlwaysAllow {
				t.Error("an unhealthy master must always be evictable")
			}
		})
	}
	if ptr.Deref(SlavesPDB(lc).Spec.UnhealthyPodEvictionPolicy, "") != policyv1.AlwaysAllow {
		t.Error("unhealthy slaves must always be evictable")
	}
}
