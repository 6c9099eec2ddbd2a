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
// name is answered from that cache without a lock (the View publishes an
// immutable snapshot of its names, nametable.go), and an unknown name is
// waited for at most Options.LookupTimeout. Data never goes through the master: a message
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
// rebuilds its table from the slaves.
//
// A graceful leave has two phases (see the guarantee in runtime/core's
// doc): Drain announces that the node takes no new work (the master pushes
// its entry with Draining set; every node then fails new Calls, Requests
// and Sends to it, and lookups of its names, with core.ErrNodeDraining),
// while the work it accepted completes over the open links; Flush waits
// until the replies are written; Leave deregisters its names and removes it
// from every table. Calls still pending on a node that left after draining
// fail one heartbeat interval later, not at once, so a reply travelling on
// the direct link is not overtaken by the master's notice.
//
// # Liveness
//
// A detector that did not run for a while (GC pause, CPU throttling, a
// stopped process) suspects itself before it suspects everyone: a tick that
// comes more than one heartbeat interval late credits every node the
// lateness, so a stalled master does not declare the whole cluster down on
// its first tick back (MasterState.Tick), nor a stalled slave its master.
// Start holds the cluster's lock from Listen until the master table exists,
// so no frame meets a half-built state; data frames that arrive before the
// core is attached get an error reply.
//
// # Incarnations and duplicate names
//
// Every process has a random 64-bit incarnation (Options.Incarnation),
// sent when it registers and listed in every node entry; its low 14 bits
// (plus one) tag every service id of the process (core.Incarnation), so ids
// of an earlier process under the same node id are refused with
// core.ErrStaleID. Two processes with one node name do not evict each other:
// the one that is registered, connected and heard from within the heartbeat
// timeout keeps the name, and the newcomer is refused (CtlRefuse with
// RefuseDuplicate; Join and Run return ErrDuplicateName and lotou-node exits
// with code 3). Only when the old process has lost its connection to the
// master or fell silent does the newcomer take over; if the old one comes
// back, it is the one refused. A light client (lotouctl) keeps no name
// against anybody: a newcomer with its name takes over, as before.
//
// # Node ids across a master restart
//
// A restarted master has lost its table, yet slaves still run under ids it
// gave them. Three rules keep a newcomer from taking such an id (which would
// force the slave to exit with ErrIDChanged):
//
//   - Recovery window: for 2 heartbeat timeouts plus BackoffMax after the
//     master starts (long enough for every live slave to notice and
//     re-dial), fresh nodes get ids counted from a random base in
//     [RecoverBase, RecoverTop], away from the small ids handed out first.
//     These ids are two-byte uvarints on the wire (a Call frame grows from
//     22 to 23-24 bytes).
//
//   - Reservations: a re-registering slave sends the nodes of its view;
//     the master reserves their ids, for the node of that name, for one
//     heartbeat timeout, so even a newcomer arriving after the window
//     cannot take them before their owners re-register.
//
//   - Down nodes: ids of nodes the re-registering slaves still list as
//     down are reserved for the down-retention time, so a restarted master
//     does not hand out the id of a slave that died before it restarted.
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
// wire.go: kind, ids as node+incarnation+counter uvarints, session, command
// or error text and code, codec arguments; a Call(svc, "echo", 42) frame is
// 22 bytes). A payload starting at 0x80 is a control message (control.go),
// all fields in a fixed order. Both decoders are fuzzed and never panic.
// Every limit the receiver enforces is checked by the sender first: a name
// longer than MaxNameLen is refused by Register with core.ErrTooLarge, and a
// name table of any size (a million global names and more), and a node
// table of any size, go in CtlMore pages of at most PageBytes each, so they
// never exceed the frame limit. A receiver assembles at most 128 MiB of
// pages (counted as decoded), and a node takes control frames from its
// master only.
// Registering a name waits for the master's answer at most
// Options.RegisterTimeout when its ctx has no deadline. An error reply names
// its reason with a core.ErrorCode on the wire; a Call or Request whose
// arguments do not decode gets one at once, and a Send is counted as
// dropped (core.DropDecode).
package cluster
