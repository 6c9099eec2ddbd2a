// Command lotouctl talks to a Lotou cluster. It joins as a light client node
// (it needs the cluster token, like any node) and then shows the cluster,
// calls a service or puts load on one:
//
//	lotouctl --master host:port status [-o json]
//	lotouctl --master host:port call <global name> <command> [json args...]
//	lotouctl --master host:port bench --target <global name> --duration 10s --concurrency N [--mode call|send] [--cpuprofile file]
package main
