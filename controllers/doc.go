// Package controllers holds the LotouCluster reconciler.
//
// Reconcile follows the Cluster API shape: get the LotouCluster, run a list
// of phase functions (token, services, slaves, master, disruption budgets,
// membership), each in its own file and each recording what it observed in a
// scope, then compute the whole status once with pure condition setters
// (status.go) and write it with a single patch. Desired objects come from
// the pure builders of controllers/resources and are written with
// server-side apply (field manager lotou-operator), skipped when the cached
// object already holds every field the operator sets, so a quiet cluster
// costs no writes and drift in an owned field is corrected on the next
// reconcile.
package controllers
