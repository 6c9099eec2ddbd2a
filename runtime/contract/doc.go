// Package contract is the single definition of the lotou-node configuration
// contract: environment variable names, default ports, HTTP paths, label keys
// and the JSON shape of the /cluster endpoint.
//
// Both cmd/lotou-node (which reads these settings) and the operator's pod
// builders (which write them) import this package, so the two cannot drift.
// It has no dependencies beyond the standard library.
package contract
