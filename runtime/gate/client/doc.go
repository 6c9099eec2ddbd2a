// Package client is the Go client of the Lotou gate protocol
// (docs/protocol.md): it dials a node's gate over TCP or WebSocket, says
// hello with its credentials, then sends, calls and receives pushes. Tests,
// bots and the load generator (lotouctl loadtest) use it; the browser uses
// examples/chat/web/lotou.js, its JavaScript twin.
package client
