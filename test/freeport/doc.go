// Package freeport hands tests loopback TCP addresses for the processes and
// servers they start.
//
// The usual trick — listen on 127.0.0.1:0, read the port, close — races: the
// port goes back to the kernel's ephemeral pool, where the next listener on
// :0 or the next outgoing connection of any process on the machine may take it
// before the test's child binds it (a lotou-node then fails with "address
// already in use", or a readiness probe lands on another node's cluster port).
// Addr picks ports below the kernel's ephemeral range, which neither :0
// listeners nor outgoing connections use, checks each is free, and never hands
// out the same port twice in one test binary. Binaries running side by side
// start their walk at a pid-derived offset so they rarely meet.
package freeport
