// Package cluster makes several Lotou nodes one system: a master assigns node
// ids and keeps the global name table, slaves register and cache it, and
// messages go from node to node directly.
//
// # Topology
//
// The master takes node id 1 (MasterID) and gives every registering node an
// id. Slaves register with their name, advertised address and the global
// names they hold; the master pushes every change (node up or down, name
// added or removed) to every node, which keeps a View: a lookup by global
// name is answered from that cache, and an unknown name is waited for at
// most Options.LookupTimeout. Data never goes through the master: a message
// for node N is written on a direct link to N's advertised address, dialled
// on first use (see runtime/transport). A light client (RoleClient, used by
// lotouctl) gets an id but no listener: replies to it go back on the
// connection it opened.
//
// # Failure and restart
//
// Master and nodes exchange heartbeats every interval (the master's, given
// in the welcome). A node silent for contract.MissedHeartbeats intervals is
// declared down: its names are removed everywhere, calls pending on it fail
// with core.ErrNodeDown, and subscribed services get EventNodeDown. Calls
// pending on a node also fail at once when the direct link to it drops. A
// slave that loses the master keeps serving, re-dials with backoff, and
// re-registers under its old id with all its names, so a restarted master
// rebuilds its table from the slaves. Leave deregisters a node's names and
// announces its departure (graceful leave).
//
// # Node ids across a master restart
//
// A restarted master has lost its table, yet slaves still run under ids it
// gave them. Two rules keep a newcomer from taking such an id (which would
// force the slave to exit with ErrIDChanged):
//   - Recovery window: for 2 heartbeat timeouts plus BackoffMax after the
//     master starts (long enough for every live slave to notice and
//     re-dial), fresh nodes get ids counted from a random base in
//     [RecoverBase, RecoverTop], away from the small ids handed out first.
//     These ids are two-byte uvarints on the wire (a Call frame grows from
//     18 to 19-20 bytes).
//   - Reservations: a re-registering slave sends the nodes of its view;
//     the master reserves their ids, for the node of that name, for one
//     heartbeat timeout, so even a newcomer arriving after the window
//     cannot take them before their owners re-register.
//
// Only a newcomer arriving in the window before any slave re-registered can
// still collide, and only if the random base lands on a live slave's id (a
// cluster that handed out more than RecoverBase ids). ErrIDChanged remains
// the safety net for that case: the node must restart.
//
// # State machines
//
// Membership and the name table are deterministic state machines in the
// etcd-raft style: MasterState (the master's authority) and View (every
// node's cache) take messages and time as arguments and return the
// messages to send and the events to publish; they own no sockets,
// goroutines or clocks. Cluster is the thin driver around them: it feeds
// them frames from the transport and ticks from a timer, sends their
// outputs, and plugs into the core as its Remote and Registry.
//
// # Wire format
//
// A frame payload starting with a byte below 0x80 is a data message (see
// wire.go: kind, ids as node+counter uvarints, session, command, codec
// arguments; a Call(svc, "echo", 42) frame is 18 bytes). A payload starting
// at 0x80 is a control message (control.go), all fields in a fixed order.
// Both decoders are fuzzed and never panic.
package cluster
