package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of this API, used to register
	// the types and to build owner references.
	GroupVersion = schema.GroupVersion{Group: "apps.lotou.io", Version: "v1alpha1"}

	// SchemeBuilder adds the types of this API to a runtime.Scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme registers the types of this API in a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Kind is the kind of the LotouCluster resource, used in owner references.
const Kind = "LotouCluster"

// addKnownTypes registers the LotouCluster kinds in a scheme.
func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &LotouCluster{}, &LotouClusterList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
