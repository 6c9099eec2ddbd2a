// Package config holds the operator's Kubernetes manifests (crd, rbac,
// manager, default, samples, prometheus) as kustomize directories. The Go
// package only carries the test that renders them with `kubectl kustomize`.
package config
