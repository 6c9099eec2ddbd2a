// Package process holds real-process tests: they build lotou-node and
// lotouctl, start a master and two slaves on 127.0.0.1 and check the cluster
// rules from outside, as an operator would. Skipped with -short.
package process
