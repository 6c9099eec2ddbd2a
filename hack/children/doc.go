// Command children prints the Kubernetes objects the operator creates for a
// LotouCluster (token Secret, Services, StatefulSets, PodDisruptionBudgets,
// NetworkPolicy), rendered by the pure builders of controllers/resources
// from a LotouCluster manifest, as multi-document YAML. `make score` feeds
// them to kube-score without a running cluster:
//
//	go run ./hack/children config/samples/apps_v1alpha1_lotoucluster.yaml
package main
