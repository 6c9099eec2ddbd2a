// Package v1alpha1 holds the apps.lotou.io/v1alpha1 API: the LotouCluster
// custom resource that describes one Lotou cluster (a master and N slaves)
// run by the lotou operator.
//
// Types and kubebuilder markers live in lotoucluster_types.go, condition
// types and reasons in lotoucluster_conditions.go and defaulting helpers in
// lotoucluster_funcs.go.
//
// +kubebuilder:object:generate=true
// +groupName=apps.lotou.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API, used to register
	// the types and to build owner references.
	GroupVersion = schema.GroupVersion{Group: "apps.lotou.io", Version: "v1alpha1"}

	// SchemeBuilder adds the types of this API to a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme registers the types of this API in a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Kind is the kind of the LotouCluster resource, used in owner references.
const Kind = "LotouCluster"
