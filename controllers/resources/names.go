package resources

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/runtime/contract"
)

// FieldManager is the server-side apply field manager of the operator.
const FieldManager = "lotou-operator"

// TokenKey is the key of the cluster token in the token Secret.
const TokenKey = "token"

// ContainerName is the name of the lotou-node container in every pod.
const ContainerName = "lotou-node"

// Port names of the lotou-node container and of the Services.
const (
	PortNameCluster = "cluster"
	PortNameHTTP    = "http"
)

// Standard app.kubernetes.io label keys and values.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelPartOf    = "app.kubernetes.io/part-of"

	appName = "lotou-node"
	// ManagedBy is the value of app.kubernetes.io/managed-by on every child object.
	ManagedBy = "lotou-operator"
	partOf    = "lotou"
)

// TerminationGracePeriodSeconds gives a slave time to deregister from the
// master and drain its mailboxes after SIGTERM.
const TerminationGracePeriodSeconds = 45

// TokenSecretName is the name of the Secret holding the cluster token.
func TokenSecretName(lc *lotouv1alpha1.LotouCluster) string { return lc.Name + "-token" }

// MasterServiceName is the name of the ClusterIP Service in front of the master.
func MasterServiceName(lc *lotouv1alpha1.LotouCluster) string { return lc.Name + "-master" }

// NodesServiceName is the name of the headless Service giving every pod a DNS name.
func NodesServiceName(lc *lotouv1alpha1.LotouCluster) string { return lc.Name + "-nodes" }

// MasterName is the name of the master StatefulSet and of its PodDisruptionBudget.
func MasterName(lc *lotouv1alpha1.LotouCluster) string { return lc.Name + "-master" }

// SlavesName is the name of the slaves StatefulSet and of its PodDisruptionBudget.
func SlavesName(lc *lotouv1alpha1.LotouCluster) string { return lc.Name + "-slaves" }

// MasterEndpoint is the host:port slaves dial to reach the master (LOTOU_MASTER).
func MasterEndpoint(lc *lotouv1alpha1.LotouCluster) string {
	return fmt.Sprintf("%s.%s.svc:%d", MasterServiceName(lc), lc.Namespace, lc.GetPort())
}

// ClusterURL is the URL of the master's /cluster endpoint, read by the
// operator to report membership.
func ClusterURL(lc *lotouv1alpha1.LotouCluster) string {
	return fmt.Sprintf("http://%s.%s.svc:%d%s", MasterServiceName(lc), lc.Namespace, lc.GetHTTPPort(), contract.PathCluster)
}

// SelectorLabels are the immutable labels selecting the pods of one role.
func SelectorLabels(lc *lotouv1alpha1.LotouCluster, role string) map[string]string {
	return map[string]string{
		contract.LabelCluster: lc.Name,
		contract.LabelRole:    role,
	}
}

// ClusterSelectorLabels select every pod of the cluster, master and slaves.
func ClusterSelectorLabels(lc *lotouv1alpha1.LotouCluster) map[string]string {
	return map[string]string{contract.LabelCluster: lc.Name}
}

// SlaveSelector is the string form of the slave pods' label selector, as
// reported in status.selector for the scale subresource.
func SlaveSelector(lc *lotouv1alpha1.LotouCluster) string {
	return labels.SelectorFromSet(SelectorLabels(lc, contract.RoleSlave)).String()
}

// Labels are the labels of every object of one role; role may be empty for
// objects shared by both roles.
func Labels(lc *lotouv1alpha1.LotouCluster, role string) map[string]string {
	l := map[string]string{
		LabelName:             appName,
		LabelInstance:         lc.Name,
		LabelManagedBy:        ManagedBy,
		LabelPartOf:           partOf,
		contract.LabelCluster: lc.Name,
	}
	if role != "" {
		l[LabelComponent] = role
		l[contract.LabelRole] = role
	}
	return l
}

// OwnerReference makes lc the controller of a child object, so deleting the
// LotouCluster deletes the child and changes to the child wake the operator.
func OwnerReference(lc *lotouv1alpha1.LotouCluster) metav1.OwnerReference {
	return *metav1.NewControllerRef(lc, lotouv1alpha1.GroupVersion.WithKind(lotouv1alpha1.Kind))
}

func objectMeta(lc *lotouv1alpha1.LotouCluster, name, role string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name:            name,
		Namespace:       lc.Namespace,
		Labels:          Labels(lc, role),
		OwnerReferences: []metav1.OwnerReference{OwnerReference(lc)},
	}
}

// PortNameGate is the name of the gate port of slave pods and of the gate Service.
const PortNameGate = "gate"

// DrainGraceSeconds is added to spec.slaves.drainTimeout to make a slave's
// terminationGracePeriodSeconds: time to leave the cluster after the drain.
const DrainGraceSeconds = 15

// GateServiceName is the name of the Service in front of the slaves' gates.
func GateServiceName(lc *lotouv1alpha1.LotouCluster) string { return lc.Name + "-gate" }
