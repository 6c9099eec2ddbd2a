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
// only, and the echo game behind the gate when --gate is set.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	return node.MainArgs(ctx, args, getenv, stderr, node.App{})
}
