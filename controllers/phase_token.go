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

	"github.com/lotou-io/lotou/controllers/resources"
)

// tokenBytes is the entropy of a generated cluster token.
const tokenBytes = 32

// reconcileToken makes sure the Secret <name>-token exists. The token is
// generated once, when the Secret is created, and kept from then on.
// Creation uses Create, not apply, so a stale cache can never overwrite an
// existing token.
//
// If the Secret is deleted (or its token emptied), a new token is generated.
// Running pods keep the old token, which new pods cannot join with, so the
// phase records the token's hash in the scope: the StatefulSet phases put it
// on both pod templates (resources.AnnotationTokenHash), and a new hash
// rolls every master and slave pod onto the new token, re-forming one
// cluster.
func (r *LotouClusterReconciler) reconcileToken(ctx context.Context, s *scope) (ctrl.Result, error) {
	lc := s.cluster
	key := client.ObjectKey{Namespace: lc.Namespace, Name: resources.TokenSecretName(lc)}
	live := &corev1.Secret{}
	err := r.Client.Get(ctx, key, live)
	if apierrors.IsNotFound(err) {
		var created bool
		if created, err = r.createToken(ctx, s, live); err == nil && created {
			s.tokenHash = resources.TokenHash(live.Data[resources.TokenKey])
			return ctrl.Result{}, nil
		}
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	token := live.Data[resources.TokenKey]
	if len(token) == 0 {
		if token, err = newToken(); err != nil {
			return ctrl.Result{}, err
		}
	}
	applied := &corev1.Secret{}
	res, err := r.apply(ctx, resources.TokenSecret(lc, token), applied)
	if err != nil {
		return ctrl.Result{}, err
	}
	r.reportApply(s, applied, res)
	s.tokenHash = resources.TokenHash(token)
	return ctrl.Result{}, nil
}

// createToken creates the Secret with a new token and reports whether it
// did. If it exists after all
// (the cache was behind, or a user removed the label the cache filters on),
// live is filled from the API server instead.
func (r *LotouClusterReconciler) createToken(ctx context.Context, s *scope, live *corev1.Secret) (bool, error) {
	lc := s.cluster
	token, err := newToken()
	if err != nil {
		return false, err
	}
	sec := resources.TokenSecret(lc, token)
	err = r.Client.Create(ctx, sec, client.FieldOwner(resources.FieldManager))
	switch {
	case err == nil:
		r.reportApply(s, sec, applyCreated)
		live.Data = sec.Data
		return true, nil
	case apierrors.IsAlreadyExists(err):
		if err := r.apiReader().Get(ctx, client.ObjectKeyFromObject(sec), live); err != nil {
			return false, fmt.Errorf("reading Secret %s: %w", sec.Name, err)
		}
		return false, nil
	}
	return false, fmt.Errorf("creating Secret %s: %w", sec.Name, err)
}

func newToken() ([]byte, error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generating cluster token: %w", err)
	}
	return []byte(hex.EncodeToString(b)), nil
}
