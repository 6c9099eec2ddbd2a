package controllers

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// OwnedKinds are the kinds of child objects the operator creates, each
// labelled app.kubernetes.io/managed-by=lotou-operator.
func OwnedKinds() []client.Object {
	return []client.Object{
		&corev1.Secret{}, &corev1.Service{}, &appsv1.StatefulSet{},
		&policyv1.PodDisruptionBudget{}, &networkingv1.NetworkPolicy{},
	}
}

// ManagedSelector selects the objects the operator manages.
func ManagedSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{resources.LabelManagedBy: resources.ManagedBy})
}

// CacheByObject limits what the manager caches: of every kind the operator
// owns (OwnedKinds), only the objects it manages are kept in memory, not
// every Secret, Service or StatefulSet of the cluster. Pass it as
// cache.Options.ByObject. Reads of objects without the label (a name
// squatted by someone else) must go through the API reader.
func CacheByObject() map[client.Object]cache.ByObject {
	sel := ManagedSelector()
	m := make(map[client.Object]cache.ByObject, len(OwnedKinds()))
	for _, o := range OwnedKinds() {
		m[o] = cache.ByObject{Label: sel}
	}
	return m
}

// CacheOptions are the manager's cache options: CacheByObject, and, when
// namespaces is not empty (namespaced mode, --watch-namespace), a cache of
// those namespaces only, so the operator needs no cluster-wide list or
// watch permission.
func CacheOptions(namespaces []string) cache.Options {
	opts := cache.Options{ByObject: CacheByObject()}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = make(map[string]cache.Config, len(namespaces))
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}
