package resources

import (
	"fmt"
	"maps"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// Names of helper variables set from the downward API and expanded with
// $(VAR) in the contract variables.
const (
	EnvPodName      = "POD_NAME"
	EnvPodNamespace = "POD_NAMESPACE"
)

// MasterStatefulSet builds the one-replica StatefulSet of the master node.
// image is the image to run: the caller passes the running image while a new
// spec.image is still rolling out to the slaves; empty means spec.image.
// tokenHash is TokenHash of the cluster token in use (see AnnotationTokenHash).
func MasterStatefulSet(lc *lotouv1alpha1.LotouCluster, image, tokenHash string) *appsv1.StatefulSet {
	if image == "" {
		image = lc.Spec.Image
	}
	sts := statefulSet(lc, contract.RoleMaster, MasterName(lc), image, tokenHash, &lc.Spec.Master)
	sts.Spec.Replicas = ptr.To[int32](1)
	return sts
}

// SlavesStatefulSet builds the StatefulSet of the slave nodes, with
// spec.slaves.replicas pods started in parallel and rolled at most
// spec.slaves.maxUnavailable at a time. tokenHash is TokenHash of the
// cluster token in use (see AnnotationTokenHash).
func SlavesStatefulSet(lc *lotouv1alpha1.LotouCluster, tokenHash string) *appsv1.StatefulSet {
	sts := statefulSet(lc, contract.RoleSlave, SlavesName(lc), lc.Spec.Image, tokenHash, &lc.Spec.Slaves.RoleSpec)
	sts.Spec.Replicas = ptr.To(lc.GetSlaveReplicas())
	sts.Spec.PodManagementPolicy = appsv1.ParallelPodManagement
	mu := lc.GetMaxUnavailable()
	sts.Spec.UpdateStrategy.RollingUpdate = &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: &mu}
	spreadSlaves(lc, &sts.Spec.Template.Spec)
	return sts
}

func statefulSet(lc *lotouv1alpha1.LotouCluster, role, name, image, tokenHash string, rs *lotouv1alpha1.RoleSpec) *appsv1.StatefulSet {
	podLabels := maps.Clone(rs.PodLabels)
	if podLabels == nil {
		podLabels = map[string]string{}
	}
	maps.Copy(podLabels, Labels(lc, role)) // the operator's labels win
	podAnnotations := maps.Clone(rs.PodAnnotations)
	delete(podAnnotations, AnnotationTokenHash) // the operator's annotation only
	if tokenHash != "" {
		if podAnnotations == nil {
			podAnnotations = map[string]string{}
		}
		podAnnotations[AnnotationTokenHash] = tokenHash
	}
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: objectMeta(lc, name, role),
		Spec: appsv1.StatefulSetSpec{
			ServiceName:         NodesServiceName(lc),
			Selector:            &metav1.LabelSelector{MatchLabels: SelectorLabels(lc, role)},
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels, Annotations: podAnnotations},
				Spec:       podSpec(lc, role, image, rs),
			},
		},
	}
}

func podSpec(lc *lotouv1alpha1.LotouCluster, role, image string, rs *lotouv1alpha1.RoleSpec) corev1.PodSpec {
	return corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To[int64](TerminationGracePeriodSeconds),
		EnableServiceLinks:            ptr.To(false),
		ImagePullSecrets:              lc.Spec.ImagePullSecrets,
		NodeSelector:                  maps.Clone(rs.NodeSelector),
		Tolerations:                   rs.Tolerations,
		Affinity:                      rs.Affinity,
		Containers: []corev1.Container{{
			Name:            ContainerName,
			Image:           image,
			ImagePullPolicy: pullPolicy(lc),
			Env:             Env(lc, role, rs.Env),
			Ports: []corev1.ContainerPort{
				{Name: PortNameCluster, ContainerPort: lc.GetPort(), Protocol: corev1.ProtocolTCP},
				{Name: PortNameHTTP, ContainerPort: lc.GetHTTPPort(), Protocol: corev1.ProtocolTCP},
			},
			Resources:      rs.Resources,
			LivenessProbe:  httpProbe(contract.PathHealthz, 10, 3),
			ReadinessProbe: httpProbe(contract.PathReadyz, 5, 2),
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
	}
}

func pullPolicy(lc *lotouv1alpha1.LotouCluster) corev1.PullPolicy {
	if lc.Spec.ImagePullPolicy == "" {
		return corev1.PullIfNotPresent
	}
	return lc.Spec.ImagePullPolicy
}

func httpProbe(path string, period, failures int32) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: path, Port: intstr.FromString(PortNameHTTP), Scheme: corev1.URISchemeHTTP,
		}},
		PeriodSeconds:    period,
		TimeoutSeconds:   2,
		FailureThreshold: failures,
	}
}

// Env builds the container environment wiring a pod of the given role to the
// lotou-node contract, followed by the user's extra variables. User
// variables that reuse a name set by the operator are dropped: the contract
// wins, so a typo in spec cannot split the cluster.
func Env(lc *lotouv1alpha1.LotouCluster, role string, extra []corev1.EnvVar) []corev1.EnvVar {
	env := []corev1.EnvVar{
		{Name: EnvPodName, ValueFrom: fieldRef("metadata.name")},
		{Name: EnvPodNamespace, ValueFrom: fieldRef("metadata.namespace")},
		{Name: contract.EnvRole, Value: role},
		{Name: contract.EnvNodeName, ValueFrom: fieldRef("metadata.name")},
		{Name: contract.EnvListen, Value: fmt.Sprintf(":%d", lc.GetPort())},
		{Name: contract.EnvAdvertise, Value: fmt.Sprintf("$(%s).%s.%s.svc:%d", EnvPodName, NodesServiceName(lc), lc.Namespace, lc.GetPort())},
	}
	if role == contract.RoleSlave {
		env = append(env, corev1.EnvVar{Name: contract.EnvMaster, Value: MasterEndpoint(lc)})
	}
	env = append(env,
		corev1.EnvVar{Name: contract.EnvClusterToken, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: TokenSecretName(lc)},
			Key:                  TokenKey,
		}}},
		corev1.EnvVar{Name: contract.EnvHTTP, Value: fmt.Sprintf(":%d", lc.GetHTTPPort())},
		corev1.EnvVar{Name: contract.EnvServices, Value: strings.Join(lc.Spec.Services, ",")},
		corev1.EnvVar{Name: contract.EnvLogLevel, Value: lc.GetLogLevel()},
		corev1.EnvVar{Name: contract.EnvHeartbeatInterval, Value: lc.GetHeartbeatInterval().String()},
		corev1.EnvVar{Name: contract.EnvCallTimeout, Value: lc.GetCallTimeout().String()},
	)
	reserved := make(map[string]bool, len(env)+1)
	for _, e := range env {
		reserved[e.Name] = true
	}
	reserved[contract.EnvMaster] = true
	reserved[contract.EnvTokenFile] = true
	for _, e := range extra {
		if !reserved[e.Name] {
			env = append(env, e)
		}
	}
	return env
}

func fieldRef(path string) *corev1.EnvVarSource {
	return &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: path}}
}
