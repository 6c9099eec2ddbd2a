package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	// applyUnchanged: the cached object already matched the desired object.
	applyUnchanged applyResult = iota
	// applyCreated: the object did not exist and was created.
	applyCreated
	// applyUpdated: the object existed and was patched (spec change or drift).
	applyUpdated
)

// AnnotationDesiredHash is the annotation on every child object holding a
// hash of the object as the operator last applied it. Comparing it with the
// hash of the object built now tells exactly whether the spec changed,
// removed fields included, without a field-by-field diff against what the
// API server defaulted.
const AnnotationDesiredHash = "lotou.io/desired-hash"

// errNameConflict is wrapped by apply when an object under a child's name
// exists but is not controlled by the LotouCluster.
var errNameConflict = errors.New("exists and is not controlled by this LotouCluster")

// apply makes the live object match desired with server-side apply, unless
// the cached copy already carries desired's hash and holds every field
// desired sets (nobody changed them since). On return, live holds the
// object as the API server (or cache) has it. desired and live must be of
// the same type; live is used as scratch space for the read. An existing
// object that desired's controller does not control is left alone and
// errNameConflict returned.
func (r *LotouClusterReconciler) apply(ctx context.Context, desired, live client.Object) (applyResult, error) {
	key := client.ObjectKeyFromObject(desired)
	kind := kindOf(desired)
	hash, err := objectHash(desired)
	if err != nil {
		return applyUnchanged, fmt.Errorf("hashing %s %s: %w", kind, key, err)
	}
	result := applyUpdated
	err = r.Client.Get(ctx, key, live)
	unlabelled := false
	if apierrors.IsNotFound(err) {
		// The cache holds only objects labelled as ours (CacheByObject): an
		// object someone else made under this name is visible to the API
		// reader only. Its metadata is enough to tell.
		meta := &metav1.PartialObjectMetadata{}
		meta.SetGroupVersionKind(desired.GetObjectKind().GroupVersionKind())
		switch gerr := r.apiReader().Get(ctx, key, meta); {
		case apierrors.IsNotFound(gerr):
		case gerr != nil:
			return applyUnchanged, fmt.Errorf("getting %s %s: %w", kind, key, gerr)
		case !controlledBy(meta, desired):
			return applyUnchanged, nameConflict(kind, key.Name)
		default:
			unlabelled = true // ours, with our label removed: apply puts it back
		}
	}
	switch {
	case unlabelled:
	case apierrors.IsNotFound(err):
		result = applyCreated
	case err != nil:
		return applyUnchanged, fmt.Errorf("getting %s %s: %w", kind, key, err)
	case !controlledBy(live, desired):
		return applyUnchanged, nameConflict(kind, key.Name)
	case upToDate(desired, live, hash):
		return applyUnchanged, nil
	}
	m, err := applyObject(desired)
	if err != nil {
		return applyUnchanged, fmt.Errorf("converting %s %s: %w", kind, key, err)
	}
	md, _ := m["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	if ann == nil {
		ann = map[string]any{}
		md["annotations"] = ann
	}
	ann[AnnotationDesiredHash] = hash
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

// objectHash is the hash recorded in AnnotationDesiredHash: the hex
// SHA-256 (first 16 bytes) of the object's JSON encoding. Struct fields
// encode in declaration order and map keys sorted, so the same object
// always hashes the same; builders leave status and creationTimestamp
// empty, so only what the spec asks for goes in.
func objectHash(desired client.Object) (string, error) {
	b, err := json.Marshal(desired)
	if err != nil {
		return "", fmt.Errorf("encoding: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16]), nil
}

// applyObject converts desired into the map server-side apply sends: no
// status, no creationTimestamp.
func applyObject(desired client.Object) (map[string]any, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(desired)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return m, nil
}

// nameConflict is the error of an object under a child's name that the
// LotouCluster does not control.
func nameConflict(kind, name string) error {
	return fmt.Errorf("%s %s %w", kind, name, errNameConflict)
}

// controlledBy tells whether live has the controller owner reference
// desired asks for (same UID), or desired asks for none.
func controlledBy(live, desired client.Object) bool {
	want := metav1.GetControllerOfNoCopy(desired)
	if want == nil {
		return true
	}
	have := metav1.GetControllerOfNoCopy(live)
	return have != nil && have.UID == want.UID
}

// upToDate tells whether live was last applied from an object equal to
// desired (same hash) and still holds every label, annotation, owner
// reference and spec field desired sets, that is nobody edited them since.
// Removed fields change the hash; edits by others are found by the
// field comparison: DeepDerivative lets live hold more than desired (what
// the API server defaults), except in the fields the API server treats as
// atomic (a Service's selector, a pod's nodeSelector and tolerations),
// which are compared exactly where desired sets them (see atomicEqual): an
// entry added there by hand (a selector key that matches no pod) is drift,
// and an apply replaces the whole field. Fields the API server drops because a feature is off
// (see withoutDroppedFields) are not compared, so such a server does not
// get a patch on every reconcile.
func upToDate(desired, live client.Object, hash string) bool {
	if live.GetAnnotations()[AnnotationDesiredHash] != hash ||
		!equality.Semantic.DeepDerivative(desired.GetLabels(), live.GetLabels()) ||
		!equality.Semantic.DeepDerivative(desired.GetAnnotations(), live.GetAnnotations()) ||
		!hasOwners(desired.GetOwnerReferences(), live.GetOwnerReferences()) {
		return false
	}
	switch d := desired.(type) {
	case *appsv1.StatefulSet:
		l, ok := live.(*appsv1.StatefulSet)
		if !ok {
			return false
		}
		dp, lp := &d.Spec.Template.Spec, &l.Spec.Template.Spec
		return equality.Semantic.DeepDerivative(withoutDroppedFields(d, l).Spec, l.Spec) &&
			atomicEqual(dp.NodeSelector, lp.NodeSelector) && atomicEqual(dp.Tolerations, lp.Tolerations)
	case *corev1.Service:
		l, ok := live.(*corev1.Service)
		return ok && equality.Semantic.DeepDerivative(withAllocatedPorts(d, l).Spec, l.Spec) &&
			atomicEqual(d.Spec.Selector, l.Spec.Selector)
	case *corev1.Secret:
		l, ok := live.(*corev1.Secret)
		return ok && d.Type == l.Type && equality.Semantic.DeepEqual(d.Data, l.Data)
	case *policyv1.PodDisruptionBudget:
		l, ok := live.(*policyv1.PodDisruptionBudget)
		return ok && equality.Semantic.DeepDerivative(d.Spec, l.Spec)
	}
	return false
}

// atomicEqual compares a field the API server treats as atomic (a map or
// list an apply replaces whole): when desired sets it, live must hold
// exactly that, since an entry added by hand is drift an apply removes.
// When desired leaves it empty the operator's apply does not own the field
// and cannot remove what someone else put there, so anything goes (an
// apply each reconcile would change nothing).
func atomicEqual[T ~map[string]string | ~[]corev1.Toleration](desired, live T) bool {
	return len(desired) == 0 || equality.Semantic.DeepEqual(desired, live)
}

// withoutDroppedFields returns desired without the fields the API server
// dropped from live because their feature gate is off:
// spec.updateStrategy.rollingUpdate.maxUnavailable of StatefulSets
// (MaxUnavailableStatefulSet, off by default before Kubernetes 1.35).
func withoutDroppedFields(desired, live *appsv1.StatefulSet) *appsv1.StatefulSet {
	dru := desired.Spec.UpdateStrategy.RollingUpdate
	if dru == nil || dru.MaxUnavailable == nil {
		return desired
	}
	if lru := live.Spec.UpdateStrategy.RollingUpdate; lru != nil && lru.MaxUnavailable != nil {
		return desired
	}
	out := desired.DeepCopy()
	out.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = nil
	if out.Spec.UpdateStrategy.RollingUpdate.Partition == nil {
		out.Spec.UpdateStrategy.RollingUpdate = nil
	}
	return out
}

// withAllocatedPorts returns desired with the node ports the API server
// allocated to live (NodePort and LoadBalancer Services) where desired
// leaves them to the server: a 0 would otherwise read as drift.
func withAllocatedPorts(desired, live *corev1.Service) *corev1.Service {
	var out *corev1.Service
	for i, p := range desired.Spec.Ports {
		if p.NodePort != 0 {
			continue
		}
		for _, lp := range live.Spec.Ports {
			if lp.Name == p.Name && lp.NodePort != 0 {
				if out == nil {
					out = desired.DeepCopy()
				}
				out.Spec.Ports[i].NodePort = lp.NodePort
			}
		}
	}
	if out == nil {
		return desired
	}
	return out
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
