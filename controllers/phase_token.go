package controllers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lotouv1alpha1 "github.com/lotou-io/lotou/api/v1alpha1"
	"github.com/lotou-io/lotou/controllers/resources"
)

// tokenBytes is the entropy of a generated cluster token.
const tokenBytes = 32

// reconcileToken makes sure the Secret <name>-token holds the cluster
// token. The token is generated once, when the cluster is created, and kept
// from then on. Creation uses Create, not apply, so a stale cache can never
// overwrite an existing token.
//
// If the Secret is deleted or its token emptied later (a GitOps prune, a
// mistaken kubectl delete), nothing is re-keyed behind the user's back: the
// phase reports TokenMissing and stops the reconcile before the
// StatefulSets, so running pods keep their token and no pod restarts. The
// user asks for a new token with the annotation
// lotou.io/regenerate-token=true on the LotouCluster (or restores the
// Secret); the new token's hash then rolls every pod of both roles
// (resources.AnnotationTokenHash) and the annotation is removed. A token
// edited by hand in the Secret is kept and rolls the pods the same way.
func (r *LotouClusterReconciler) reconcileToken(ctx context.Context, s *scope) (ctrl.Result, error) {
	lc := s.cluster
	key := client.ObjectKey{Namespace: lc.Namespace, Name: resources.TokenSecretName(lc)}
	live := &corev1.Secret{}
	err := r.Client.Get(ctx, key, live)
	switch {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return ctrl.Result{}, fmt.Errorf("getting Secret %s: %w", key, err)
	}
	if live != nil && len(live.Data[resources.TokenKey]) > 0 {
		applied := &corev1.Secret{}
		res, err := r.apply(ctx, resources.TokenSecret(lc, live.Data[resources.TokenKey]), applied)
		if err != nil {
			return ctrl.Result{}, err
		}
		r.reportApply(s, applied, res)
		s.tokenHash = resources.TokenHash(live.Data[resources.TokenKey])
		return ctrl.Result{}, nil
	}
	had, err := r.hadToken(ctx, s)
	if err != nil {
		return ctrl.Result{}, err
	}
	regenerate := lc.Annotations[lotouv1alpha1.AnnotationRegenerateToken] == "true"
	if had != "" && !regenerate {
		s.obs.TokenMissing = true
		s.tokenHash = had
		return ctrl.Result{}, nil
	}
	token, err := newToken()
	if err != nil {
		return ctrl.Result{}, err
	}
	if live == nil {
		if token, err = r.createToken(ctx, s, token); err != nil {
			return ctrl.Result{}, err
		}
	} else { // emptied: write the new token into the existing Secret
		applied := &corev1.Secret{}
		res, err := r.apply(ctx, resources.TokenSecret(lc, token), applied)
		if err != nil {
			return ctrl.Result{}, err
		}
		r.reportApply(s, applied, res)
	}
	s.tokenHash = resources.TokenHash(token)
	if regenerate {
		if err := r.clearRegenerate(ctx, lc); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// hadToken returns the token hash on the pod templates of the cluster's
// StatefulSets, "" if they do not exist yet (a new cluster) or carry none.
func (r *LotouClusterReconciler) hadToken(ctx context.Context, s *scope) (string, error) {
	lc := s.cluster
	for _, name := range []string{resources.MasterName(lc), resources.SlavesName(lc)} {
		sts, err := r.cachedStatefulSet(ctx, client.ObjectKey{Namespace: lc.Namespace, Name: name})
		if err != nil {
			return "", err
		}
		if sts != nil && tokenHashOf(sts) != "" {
			return tokenHashOf(sts), nil
		}
	}
	return "", nil
}

// createToken creates the Secret with token and returns the token in use.
// If the Secret exists after all (the cache was behind, or a user removed
// the label the cache filters on), its token is used instead, provided the
// Secret is ours.
func (r *LotouClusterReconciler) createToken(ctx context.Context, s *scope, token []byte) ([]byte, error) {
	sec := resources.TokenSecret(s.cluster, token)
	hash, err := objectHash(sec)
	if err != nil {
		return nil, fmt.Errorf("hashing Secret %s: %w", sec.Name, err)
	}
	sec.Annotations = map[string]string{AnnotationDesiredHash: hash} // as apply would: no patch on the next reconcile
	err = r.Client.Create(ctx, sec, client.FieldOwner(resources.FieldManager))
	switch {
	case err == nil:
		r.reportApply(s, sec, applyCreated)
		return token, nil
	case apierrors.IsAlreadyExists(err):
		live := &corev1.Secret{}
		if err := r.apiReader().Get(ctx, client.ObjectKeyFromObject(sec), live); err != nil {
			return nil, fmt.Errorf("reading Secret %s: %w", sec.Name, err)
		}
		if !controlledBy(live, sec) {
			return nil, nameConflict("Secret", sec.Name)
		}
		if len(live.Data[resources.TokenKey]) == 0 {
			return nil, fmt.Errorf("token Secret %s exists without a token; retrying", sec.Name)
		}
		return live.Data[resources.TokenKey], nil
	}
	return nil, fmt.Errorf("creating Secret %s: %w", sec.Name, err)
}

// clearRegenerate removes the regenerate-token annotation once the new
// token exists, so a later deletion is reported again instead of re-keying.
func (r *LotouClusterReconciler) clearRegenerate(ctx context.Context, lc *lotouv1alpha1.LotouCluster) error {
	patch := []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:null}}}`, lotouv1alpha1.AnnotationRegenerateToken))
	if err := r.Client.Patch(ctx, lc.DeepCopy(), client.RawPatch("application/merge-patch+json", patch)); err != nil {
		return fmt.Errorf("removing annotation %s: %w", lotouv1alpha1.AnnotationRegenerateToken, err)
	}
	return nil
}

func newToken() ([]byte, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generating cluster token: %w", err)
	}
	return []byte(hex.EncodeToString(b)), nil
}
