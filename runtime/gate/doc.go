// Package gate is the front door of a Lotou node for game clients: it accepts
// client connections over TCP (4-byte little-endian length + message) and
// WebSocket (one binary message per message) on one port, and gives each
// connection one agent service, the Skynet/Lotou pattern.
//
// # Memory per connection
//
// An idle client costs a reader goroutine blocked on a 64-byte inline
// buffer, its agent service and the connection's state: no read or write
// buffer is held while nothing moves. Reads go through a pooled buffer only
// while bytes are pending (readbuf.go); writes are framed into a pooled
// buffer and written by the goroutine that queued them when the socket
// takes them at once, else by a writer goroutine that exists only while
// there is something to send (outbound.go). For that the WebSocket
// server side is the gate's own (RFC 6455: ws.go frames, wsreader.go
// reading, wsupgrade.go the handshake), not a library's, whose per
// connection buffers and goroutines cost twice a TCP client; the Go client
// (package client) uses github.com/coder/websocket, which the tests use as
// the interop peer.
//
// # What an agent does
//
// The agent decodes client messages (the "binary" codec, see Message),
// checks the first one authenticates (Options.Auth), then forwards every
// Send and Call to the configured game service (Options.Service, a local
// ".name" or a global name) as
//
//	cmd(agent core.ServiceID, user string, payload []byte) -> reply []byte or string
//
// and pushes back to the client what services send to the agent:
//
//	"push"(cmd string, payload []byte)   a server push (KindPush)
//	"kick"(reason string)                close the connection with that reason
//
// When the connection ends the game service receives the one-way command
// "disconnected"(agent, user).
//
// # Limits
//
// Every limit has one behaviour and one counter (Metrics): a message larger
// than MaxMessage closes the connection ("too_large"); malformed bytes close
// it ("malformed"); a client above its token bucket (Rate, Burst) gets an
// Error "rate_limited" for that message, which is dropped; a client silent
// for IdleTimeout is closed ("idle"); beyond MaxConns a new client is told
// "full" and closed; a client whose outbound queue (QueueSize messages) is
// full is too slow to read and is closed ("slow_consumer"): nothing is
// buffered without bound.
//
// # Drain
//
// Drain stops accepting, sends every client a Move notice (reconnect through
// the same public address, another node will take it) and waits until the
// sessions reach zero or its ctx ends; the node then leaves the cluster.
//
// The wire protocol, with byte-level examples, is in docs/protocol.md; the
// routing state (token buckets, message decoding) is pure and the
// connection loops are thin drivers around it.
package gate
