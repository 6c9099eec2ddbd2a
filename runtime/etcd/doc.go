// Package etcd keeps a Lotou cluster's membership and global names in etcd:
// the optional discovery backend (cluster.Discovery) behind --discovery etcd.
//
// # Keys
//
// Everything lives under a per-cluster prefix P (Options.Prefix; lotou-node
// derives one from the cluster token unless told otherwise):
//
//	P/nextid         the next node id, advanced by a transaction: ids are never reused
//	P/nodes/<id>     {"name","addr","role","inc","joining","draining"} of a live node, bound to its lease
//	P/byname/<name>  the id of the node called name, bound to its lease
//	P/names/<name>   the service id holding a global name, bound to its owner's lease
//	P/clients/<id>   an id in [0xff00, 0xffff) borrowed by a light client (lotouctl), bound to its lease
//
// A node grants itself a lease of Options.TTL (3 heartbeats, at least 2 s)
// and keeps it alive. A node whose lease expires (crash, partition) is down:
// etcd deletes its keys, every node's watch sees the deletes, its names
// vanish from every View and calls pending on it fail with core.ErrNodeDown.
// Graceful leave revokes the lease, which has the same effect at once.
//
// # Phases
//
// Join lists a node with "joining" set: every View holds it, not up, so
// nobody routes to it while it cannot receive. Announce (called by
// cluster.Attach once the core is attached and the link backend
// subscribed) clears the mark. Drain sets "draining" (phase 1 of the
// graceful leave, as with the master registry): every node routes no new
// work to it. A light client (role client) takes no node key: it borrows an
// id from P/clients, reads and watches the tables like a node, and is
// answered on the connections it opens.
//
// # Tables and lookups
//
// Join loads the tables (one range read) and Run watches the prefix from the
// next revision, turning every change into the control message the master
// would have pushed (CtlNodeUp, CtlNodeDown with NodeGone, CtlNameAdd,
// CtlNameDel). Lookups are answered by the node's View: no etcd round trip.
// A watch that falls behind a compaction re-reads the tables (a CtlWelcome).
//
// # Rules
//
// The same as the master registry's: a global name held by a live service
// of another node is refused with core.ErrNameTaken (the name key is
// created only if absent, in a transaction); a name whose holder died is
// free again (its key went with the lease). A node joining under the name
// of a listed node of another incarnation is refused with
// cluster.ErrDuplicateName, after waiting up to one TTL in case that node
// crashed and its lease is about to expire (a restarted pod). Each join
// gets a new id; a node whose name was taken during an outage stops with
// cluster.ErrIDChanged.
//
// # The master role in this mode
//
// None: the node started with role master is an ordinary member. It gets
// its id from P/nextid like everyone else, holds no registry duties, and may
// be lost like any other node; nothing waits for it to come back. It still
// serves /cluster (from its View), which is what the operator reads.
//
// # Outages
//
// While etcd is unreachable, traffic between nodes goes on (it never passes
// through etcd) and lookups are served from the View; name registrations
// fail within Options.OpTimeout with an error wrapping
// cluster.ErrBackendDown. If the outage outlasts the lease, the node is no
// longer Ready; it keeps trying, and once etcd answers it grants a new lease
// and puts back its node key (same id) and its names: the cluster re-forms
// without restarting any node.
//
// # Auth
//
// etcd user and password, and client TLS from a directory holding ca.crt,
// tls.crt and tls.key (LoadTLSDir).
package etcd
