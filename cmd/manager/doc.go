// Command manager runs the lotou operator: the LotouCluster controller with
// leader election, Prometheus metrics and health probes.
//
// The API server is found with --kubeconfig when given, else through
// $KUBECONFIG, the in-cluster service account or ~/.kube/config.
//
// Flags tune concurrency (--max-concurrent-reconciles) and the API client
// rate limits (--kube-api-qps, --kube-api-burst); see --help.
package main
