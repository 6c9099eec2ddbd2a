// Package membership reads a Lotou cluster's membership as its master sees
// it: the JSON document (contract.ClusterView) served on the master's
// /cluster endpoint. The operator uses it to fill status.registeredNodes and
// status.globalServices; tests replace the HTTP reader with a fake through
// the Reader interface.
package membership
