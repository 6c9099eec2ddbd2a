package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/node"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes of lotou-node.
const (
	exitOK        = 0
	exitFailure   = 1
	exitConfig    = 2
	exitDuplicate = 3 // another live node runs under this name
)

// run parses the configuration and runs the node until ctx ends; it returns
// the exit code: 0 after a graceful stop, 1 on a runtime failure, 2 on bad
// configuration, 3 when the master refused the node because a live node
// already has its name (the live one keeps it; see cluster.ErrDuplicateName). Logs go through the node's asynchronous sink, whose writer
// goroutine run owns: it is stopped, and what it buffered is flushed, only
// after the node has left, so the last lines are never lost.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) int {
	opts, logLevel, err := parseConfig(args, getenv, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "lotou-node: %v\n", err)
		return 2
	}
	sink, err := node.NewSink(stderr, logLevel, 0)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "lotou-node: %v\n", err)
		return 2
	}
	sinkCtx, stopSink := context.WithCancel(context.WithoutCancel(ctx))
	sinkDone := make(chan error, 1)
	go func() { sinkDone <- sink.Run(sinkCtx) }()
	defer func() {
		stopSink()
		if err := <-sinkDone; err != nil {
			_, _ = fmt.Fprintf(stderr, "lotou-node: %v\n", err)
		}
	}()
	log := sink.Logger()
	opts.Log = log
	opts.LogDropped = sink.Dropped
	n, err := node.New(opts)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "lotou-node: %v\n", err)
		return 2
	}
	if err := n.Run(ctx); err != nil {
		log.Error(err, "Node failed")
		if errors.Is(err, cluster.ErrDuplicateName) {
			return exitDuplicate
		}
		return exitFailure
	}
	return exitOK
}
