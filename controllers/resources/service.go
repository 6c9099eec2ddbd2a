package resources

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

func servicePorts(lc *lotouv1alpha1.LotouCluster) []corev1.ServicePort {
	return []corev1.ServicePort{
		{Name: PortNameCluster, Port: lc.GetPort(), TargetPort: intstr.FromString(PortNameCluster), Protocol: corev1.ProtocolTCP},
		{Name: PortNameHTTP, Port: lc.GetHTTPPort(), TargetPort: intstr.FromString(PortNameHTTP), Protocol: corev1.ProtocolTCP},
	}
}

// MasterService builds the ClusterIP Service slaves dial to reach the master
// (LOTOU_MASTER) and the operator reads /cluster through.
func MasterService(lc *lotouv1alpha1.LotouCluster) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(lc, MasterServiceName(lc), contract.RoleMaster),
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeClusterIP,
			Selector: SelectorLabels(lc, contract.RoleMaster),
			Ports:    servicePorts(lc),
		},
	}
}

// NodesService builds the headless Service that gives every pod of the
// cluster a stable DNS name <pod>.<name>-nodes.<ns>.svc (LOTOU_ADVERTISE).
// Not-ready addresses are published because a slave must be reachable
// before it is ready: it only becomes ready once registered.
func NodesService(lc *lotouv1alpha1.LotouCluster) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(lc, NodesServiceName(lc), ""),
		Spec: corev1.ServiceSpec{
			Type:                     corev1.ServiceTypeClusterIP,
			ClusterIP:                corev1.ClusterIPNone,
			PublishNotReadyAddresses: true,
			Selector:                 ClusterSelectorLabels(lc),
			Ports:                    servicePorts(lc),
		},
	}
}

// GateService builds the Service <name>-gate in front of the slaves' client
// gateways (spec.gate), of spec.gate.service.type, with the user's
// annotations. It selects ready slaves only: a slave is ready once its gate
// listens and it is registered.
func GateService(lc *lotouv1alpha1.LotouCluster) *corev1.Service {
	meta := objectMeta(lc, GateServiceName(lc), contract.RoleSlave)
	if lc.Spec.Gate != nil && len(lc.Spec.Gate.Service.Annotations) > 0 {
		meta.Annotations = maps.Clone(lc.Spec.Gate.Service.Annotations)
	}
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceType(lc.GetGateServiceType()),
			Selector: SelectorLabels(lc, contract.RoleSlave),
			Ports: []corev1.ServicePort{{
				Name: PortNameGate, Port: lc.GetGatePort(), TargetPort: intstr.FromString(PortNameGate), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}
