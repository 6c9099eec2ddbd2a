// Package config holds the operator's Kubernetes manifests (crd, rbac,
// manager, default, namespaced, samples, the prometheus component) as
// kustomize directories, the Grafana dashboard (grafana) and the kube-score
// inputs (score). The Go package only carries tests: the kustomizations
// render, the namespaced overlay and the Helm chart match config/default,
// and every metric the dashboard queries is exported.
package config
