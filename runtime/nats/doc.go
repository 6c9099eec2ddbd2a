// Package nats carries node-to-node messages over a NATS server instead of
// direct TCP links: the optional delivery backend (cluster.Links) behind
// --transport nats.
//
// # Subjects and frames
//
// Every node subscribes to its own subject, <prefix>.node.<id>, where the
// prefix is per cluster (Options.Prefix; lotou-node derives one from the
// cluster token unless told otherwise). A NATS message carries one or more
// frames exactly as they travel over TCP: a 4-byte little-endian length
// followed by the payload (runtime/transport's framing, runtime/cluster's
// data messages). One-way sends to a node are batched: frames queued while
// the previous publish was going out leave together in the next one. A call
// or a reply on an idle link is published at once by the caller.
//
// Calls keep Lotou's sessions and replies: a reply is an ordinary frame
// published to the caller's node subject, not a NATS request-reply inbox.
//
// # Failures
//
// Start returns once the server has confirmed the node's subscription
// (Flush after Subscribe); with etcd discovery the node is announced only
// after that. The master registry announces a node when it registers,
// before it subscribes, and NATS keeps nothing for a subject nobody
// subscribes to: so a sender holds its frames to a node that (re)appeared
// until the node's subscription answers a probe, an empty request on its
// subject (probe.go). NATS answers "no responders" at once while nobody
// listens; the probe repeats until the node answers, then the held frames
// leave in order. Nothing is lost between a node's join and its
// subscription.
//
// Which nodes are up is decided by the discovery backend (master registry or
// etcd), never by NATS. While the connection to NATS is down, sends fail at
// once with an error wrapping cluster.ErrBackendDown, and calls waiting for
// a reply fail with core.ErrNodeDown (their frames may have been lost); the
// client reconnects for ever and the subscription is restored, with no node
// restart. A NATS slow-consumer event (this node's subscription fell behind
// and the client dropped messages) is counted in Stats().SlowConsumers and
// logged as an error with the number of messages dropped so far; it is never
// silent.
//
// # Auth
//
// Token, user credentials file (JWT + NKey seed, .creds), NKey seed file and
// TLS (a tls:// URL, or Options.TLS for client certificates and private CAs).
package nats
