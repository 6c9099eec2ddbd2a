// Package node wires one Lotou node: the routing core, the cluster
// membership and transport, the built-in services and the HTTP endpoints
// (health, readiness, Prometheus metrics and the /cluster view).
//
//	n, err := node.New(node.Options{Role: contract.RoleSlave, Name: "a", Master: "m:4000", Token: tok})
//	err = n.Run(ctx) // returns after a graceful leave once ctx ends
//
// The configuration keys mirror runtime/contract, which cmd/lotou-node reads
// from flags and environment variables.
package node
