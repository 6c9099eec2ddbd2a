// Package corebench compares the Lotou runtime core with protoactor-go on
// the same machine in the same run: local one-way send throughput and local
// blocking call round trip, one pair and four pairs in parallel.
//
// Run: cd bench && go test ./core -bench . -benchtime=1s -run '^$'
package corebench
