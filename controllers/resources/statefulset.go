package resources

import (
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// MasterStatefulSet builds the one-replica StatefulSet of the master node.
// image is the image to run: the caller passes the running image while a new
// spec.image is still rolling out to the slaves; empty means spec.image.
// tokenHash is TokenHash of the cluster token in use (see AnnotationTokenHash).
func MasterStatefulSet(lc *lotouv1alpha1.LotouCluster, image, tokenHash string) *appsv1.StatefulSet {
	if image == "" {
		image = lc.Spec.Image
	}
	sts := statefulSet(lc, contract.RoleMaster, MasterName(lc), image, tokenHash, &lc.Spec.Master.RoleSpec)
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
	ports := []corev1.ContainerPort{
		{Name: PortNameCluster, ContainerPort: lc.GetPort(), Protocol: corev1.ProtocolTCP},
		{Name: PortNameHTTP, ContainerPort: lc.GetHTTPPort(), Protocol: corev1.ProtocolTCP},
	}
	if role == contract.RoleSlave && lc.GateEnabled() {
		ports = append(ports, corev1.ContainerPort{Name: PortNameGate, ContainerPort: lc.GetGatePort(), Protocol: corev1.ProtocolTCP})
	}
	return corev1.PodSpec{
		TerminationGracePeriodSeconds: ptr.To(terminationGracePeriod(lc, role)),
		EnableServiceLinks:            ptr.To(false),
		AutomountServiceAccountToken:  ptr.To(false),
		SecurityContext:               podSecurityContext(rs),
		ImagePullSecrets:              lc.Spec.ImagePullSecrets,
		NodeSelector:                  maps.Clone(rs.NodeSelector),
		Tolerations:                   rs.Tolerations,
		Affinity:                      rs.Affinity,
		Volumes:                       volumes(lc),
		Containers: []corev1.Container{{
			Name:            ContainerName,
			Image:           image,
			ImagePullPolicy: pullPolicy(lc),
			Env:             Env(lc, role, rs.Env),
			Ports:           ports,
			Resources:       rs.Resources,
			LivenessProbe:   httpProbe(contract.PathHealthz, 10, 3),
			ReadinessProbe:  httpProbe(contract.PathReadyz, 5, 2),
			SecurityContext: containerSecurityContext(rs),
			VolumeMounts:    volumeMounts(lc),
		}},
	}
}

// terminationGracePeriod is the slaves' drain timeout plus
// DrainGraceSeconds, so a slave moving its gate clients away is not killed
// before it has left the cluster; the master keeps
// TerminationGracePeriodSeconds.
func terminationGracePeriod(lc *lotouv1alpha1.LotouCluster, role string) int64 {
	if role != contract.RoleSlave {
		return TerminationGracePeriodSeconds
	}
	return int64(lc.GetDrainTimeout().Seconds()) + DrainGraceSeconds
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
		// The API server's default, set here so the comparison with the
		// live object (where a 0 would read as 1) finds no drift.
		SuccessThreshold: 1,
	}
}
