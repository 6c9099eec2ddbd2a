// Package e2e holds the end-to-end tests: a real one-node Kubernetes on this machine (hack/local-cluster.sh),
// the operator installed in it with `kubectl apply -k config/dev`, and real lotou-node pods from FROM-scratch
// images. The tests drive the cluster the way a user does, with the kubectl binary (apply, scale, wait, get,
// logs, exec), and assert through a Kubernetes client.
//
// They run only with LOTOU_E2E=1 against a running cluster; `make test-e2e` (hack/e2e.sh, as root) brings the
// cluster up, sets the environment, runs them and tears the cluster down. A plain `go test ./...` skips them
// with a message saying so.
//
// Environment (set by hack/e2e.sh): LOTOU_E2E=1, KUBECONFIG, LOTOU_KUBECTL (the kubectl binary),
// LOTOU_CONTAINERD_SOCK (to tag a second image), LOTOU_NODE_IMAGE (default lotou-node:dev). LOTOU_E2E_KEEP_GOING=1
// runs every step even after one fails (for debugging; later failures may be consequences).
//
// Benchmarks (bench_test.go, same gate; hack/bench-e2e.sh, as root, brings up the cluster each needs and tears it
// down): BenchmarkApplyToReady10Slaves (real pods: kubectl apply of 10 slaves until Ready with 11 nodes
// registered, metric s/ready) and BenchmarkKwok1000Slaves (kwok: 20 clusters x 50 slaves, operator out of
// cluster with --read-membership=false, so Ready means pods ready; metric s/all-ready; LOTOU_MANAGER_BIN).
package e2e
