package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lotou-io/lotou/runtime/node"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// run is node.MainArgs for the plain lotou-node: the built-in services
// only, and the echo game behind the gate when --gate is set. Exit codes:
// 0 after a graceful stop, 1 on a runtime failure, 2 on bad configuration,
// 3 when the master refused the node because a live node already has its
// name (node.ExitDuplicate).
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	return node.MainArgs(ctx, args, getenv, stderr, node.App{})
}
