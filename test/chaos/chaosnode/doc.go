// Command chaosnode is the node program of the chaos harness (test/chaos): a
// real Lotou node (runtime/node, the same wiring as lotou-node) plus one
// service, the ledger, registered under the global name "ledger:<node name>".
//
// The ledger answers two commands:
//
//	exec  <request id> <work ms>                 sleep, append the id to the record, reply the id
//	relay <request id> <global name> <work ms> <budget ms>
//	                                             Call exec on that name from this node, reply its answer
//
// "Executed" means "appended to the record": the record is the file
// <record dir>/exec-<node name>-<pid>.log, one "<id> <unix ns>" line per execution, written with one
// unbuffered write(2) before the reply is sent, so it survives SIGKILL and the
// harness can compare what ran with what callers were told.
//
// It exits 0 after SIGTERM (graceful leave), 1 when the node fails, 2 on bad
// flags.
package main
