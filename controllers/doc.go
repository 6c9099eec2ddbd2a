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
//
// Rolling updates: a new spec.image reaches the slaves first and the master
// only once every slave is ready on the new spec. A new cluster token (the
// token Secret was deleted, so a new token was generated) is different: the
// hash of the token is a pod-template annotation of both StatefulSets
// (resources.AnnotationTokenHash), so both roll at once — holding the master
// back would deadlock, as slaves on the new token cannot become ready until
// the master runs it. Old pods lose the cluster while they are replaced; the
// new pods re-form one cluster on the new token. A TokenChanged Warning
// event is emitted per role. Upgrading from an operator that did not set the
// annotation restarts every pod once.
package controllers
