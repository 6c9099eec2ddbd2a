// Package resources holds the pure builders of the objects the operator
// makes for a LotouCluster: the token Secret, the master and nodes Services,
// the master and slaves StatefulSets and their PodDisruptionBudgets.
//
// Builders take a LotouCluster (and any value they cannot compute, such as
// the token) and return a fully formed object. They use no client, no
// context and no clock, so their output is tested by looking at it. Names,
// labels and the node contract wiring are defined here once; the env var
// names, ports and paths come from runtime/contract.
package resources
