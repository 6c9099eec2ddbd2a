// Package chaos is the chaos harness: a master and at least four slaves, each a
// real chaosnode process (runtime/node plus a recording "ledger" service) in
// its own network namespace on a bridge that hack/chaos.sh creates, every node
// reached through a userspace proxy (test/chaos/proxy) the harness owns. A load
// generator joins as a client and makes Calls with unique request ids, some
// straight to a ledger, some relayed by one slave to another; a fault schedule
// injects, at random, SIGKILL, SIGTERM, SIGSTOP/SIGCONT, master restarts,
// partitions of a slave or of the master (nftables in the namespace),
// asymmetric loss (proxy holds in one direction) and a second process with a
// live node's name. At the end it heals everything and checks the invariants
// of docs/reliability.md, printed as a table.
//
// Run it with `make chaos DURATION=30m` (soak) or `make test-chaos` (short,
// part of `make test`); both go through hack/chaos.sh run, which needs root and
// removes every namespace, link and process it made, even on failure. Without
// LOTOU_CHAOS=1 the test is skipped.
package chaos
