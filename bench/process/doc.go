// Package process holds the real-process benchmark: a master and one slave
// lotou-node (--services echo) measured with `lotouctl bench`, beside a raw
// TCP echo (rawtcp) run the same way in the same minute, so every figure is
// a ratio against the floor the kernel sets. hack/bench-process.sh drives
// both and writes bin/bench/process.txt.
package process
