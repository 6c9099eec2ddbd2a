// Package attack is a black-box security suite: it builds lotou-node, starts
// a master and slaves on 127.0.0.1 and attacks their ports from outside as
// someone on the network would (wrong token, reflected and replayed
// handshakes, idle and half-sent connections, file descriptor exhaustion,
// HTTP keep-alive floods, hostile codec input). Each attack asserts that it
// is refused or cut off, that node memory stays bounded and that the cluster
// keeps answering calls during and after. Attackers dial from 127.0.0.2 and
// up, so the per-address caps of the cluster port do not hit the nodes' own
// links from 127.0.0.1. Skipped with -short.
package attack
