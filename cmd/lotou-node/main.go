// Command lotou-node runs one Lotou node: a master, a slave or a standalone
// node. Every flag falls back to an environment variable named in
// runtime/contract, then to the --config YAML file, then to its default.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lotou-io/lotou/runtime/node"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stderr))
}

// run parses the configuration and runs the node; it returns the exit code:
// 0 after a graceful stop, 1 on a runtime failure, 2 on bad configuration.
func run(args []string, getenv func(string) string, stderr io.Writer) int {
	opts, logLevel, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "lotou-node: %v\n", err)
		return 2
	}
	log, err := node.NewLogger(stderr, logLevel)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "lotou-node: %v\n", err)
		return 2
	}
	opts.Log = log
	n, err := node.New(opts)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "lotou-node: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := n.Run(ctx); err != nil {
		log.Error(err, "Node failed")
		return 1
	}
	return 0
}
