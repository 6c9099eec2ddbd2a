package controllers

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lotou-io/lotou/controllers/resources"
)

// applyResult says what apply did to one child object.
type applyResult int

const (
	// applyUnchanged: the cached object already held every field we set.
	applyUnchanged applyResult = iota
	// applyCreated: the object did not exist and was created.
	applyCreated
	// applyUpdated: the object existed and was patched (spec change or drift).
	applyUpdated
)

// apply makes the live object match desired with server-side apply, unless
// the cached copy already holds every field desired sets. On return, live
// holds the object as the API server (or cache) has it. desired and live
// must be of the same type; live is used as scratch space for the read.
func (r *LotouClusterReconciler) apply(ctx context.Context, desired, live client.Object) (applyResult, error) {
	key := client.ObjectKeyFromObject(desired)
	kind := desired.GetObjectKind().GroupVersionKind().Kind
	result := applyUpdated
	switch err := r.Client.Get(ctx, key, live); {
	case apierrors.IsNotFound(err):
		result = applyCreated
	case err != nil:
		return applyUnchanged, fmt.Errorf("getting %s %s: %w", kind, key, err)
	case upToDate(desired, live):
		return applyUnchanged, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(desired)
	if err != nil {
		return applyUnchanged, fmt.Errorf("converting %s %s: %w", kind, key, err)
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	u := &unstructured.Unstructured{Object: m}
	if err := r.Client.Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(resources.FieldManager), client.ForceOwnership); err != nil {
		return applyUnchanged, fmt.Errorf("applying %s %s: %w", kind, key, err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, live); err != nil {
		return applyUnchanged, fmt.Errorf("converting applied %s %s: %w", kind, key, err)
	}
	return result, nil
}

// upToDate tells whether live already holds every label, owner reference
// and spec field that desired sets. Fields desired leaves empty (defaults,
// fields owned by users or other controllers) are ignored.
func upToDate(desired, live client.Object) bool {
	if !equality.Semantic.DeepDerivative(desired.GetLabels(), live.GetLabels()) ||
		!equality.Semantic.DeepDerivative(desired.GetAnnotations(), live.GetAnnotations()) ||
		!hasOwners(desired.GetOwnerReferences(), live.GetOwnerReferences()) {
		return false
	}
	switch d := desired.(type) {
	case *appsv1.StatefulSet:
		l, ok := live.(*appsv1.StatefulSet)
		return ok && equality.Semantic.DeepDerivative(d.Spec, l.Spec)
	case *corev1.Service:
		l, ok := live.(*corev1.Service)
		return ok && equality.Semantic.DeepDerivative(d.Spec, l.Spec)
	case *corev1.Secret:
		l, ok := live.(*corev1.Secret)
		return ok && d.Type == l.Type && equality.Semantic.DeepDerivative(d.Data, l.Data)
	case *policyv1.PodDisruptionBudget:
		l, ok := live.(*policyv1.PodDisruptionBudget)
		return ok && equality.Semantic.DeepDerivative(d.Spec, l.Spec)
	}
	return false
}

func hasOwners(want, have []metav1.OwnerReference) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if h.UID == w.UID && h.Kind == w.Kind && h.Name == w.Name &&
				equality.Semantic.DeepEqual(h.Controller, w.Controller) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
