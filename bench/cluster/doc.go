// Package cluster benchmarks Lotou's cross-node messaging on loopback against
// protoactor-go remote and a raw TCP ping-pong:
//
//	go test -run '^$' -bench . -benchtime 1s ./cluster
//
// BenchmarkRemoteSend / BenchmarkProtoactorRemoteSend: one-way messages from
// one node to a service on another, msgs/s. BenchmarkRemoteCall /
// BenchmarkTCPRoundTrip: sequential request/reply round trips. The frame
// size of a remote Call(svc, "echo", 42) is reported as a metric.
package cluster
