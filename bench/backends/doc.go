// Package backends benchmarks the optional discovery and delivery backends
// side by side with the defaults, on loopback, with real servers started by
// the benchmarks (etcd as a process: set KUBEBUILDER_ASSETS or
// LOTOU_ETCD_BIN; NATS embedded):
//
//	KUBEBUILDER_ASSETS=$PWD/../bin/k8s go test -run '^$' -bench . -benchtime 1s ./backends
//
// BenchmarkSend/{tcp,nats} and BenchmarkNATSPublishRaw (the ceiling):
// one-way messages, msgs/s. BenchmarkCall/{tcp,nats} and
// BenchmarkNATSRequestRaw (the ceiling): sequential round trips.
// BenchmarkRegister, BenchmarkLookup and BenchmarkDetectKill compare the
// master registry with etcd.
package backends
