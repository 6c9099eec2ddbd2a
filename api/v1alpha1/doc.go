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
