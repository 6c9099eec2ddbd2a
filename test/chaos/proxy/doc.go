// Package proxy is the chaos harness's userspace TCP proxy: it sits between
// Lotou nodes (each node advertises its proxy's address, so every peer and the
// master reach it through one) and makes delay and loss, which this machine's
// kernel cannot (no tc netem).
//
// Loss on a TCP stream never reaches the application as missing bytes: the
// kernel retransmits, and the application sees the bytes late, in order. The
// proxy models exactly that. With a Fault set on one direction, each chunk read
// is held with probability Prob for a random time in [HoldMin, HoldMax] (a
// retransmission timeout, or several), and every chunk behind it waits too
// (head-of-line blocking). Setting a fault on one direction only is asymmetric
// loss. Data is never dropped or reordered, so framing stays intact.
//
// A Proxy owns its goroutines: Run returns only after every connection it
// accepted is closed and its four pumps (two readers, two writers) returned.
package proxy
