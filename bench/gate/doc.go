// Package gatebench measures the Lotou gate beside the two floors a client
// gateway can be compared with: a minimal github.com/coder/websocket echo
// server and a raw TCP echo server, both written for this benchmark. They
// speak just enough of the gate protocol (docs/protocol.md) for the same
// client: every message comes back with its kind set to reply, so a hello
// is answered with its credentials and a call with its payload.
//
// In-process round trips, one and 64 clients:
//
//	go test -run '^$' -bench . -benchtime 2s ./gate
//
// Many processes and 10,000 clients: hack/bench-gate.sh (make bench-gate),
// which runs the echo servers as ./gate/echo and drives them and a
// lotou-node with lotouctl loadtest.
package gatebench
