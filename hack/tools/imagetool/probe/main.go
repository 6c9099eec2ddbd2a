// Command probe is a tiny FROM-scratch test program for the local cluster. Without arguments it blocks until
// SIGTERM (a long-running pod to exec into). `probe lookup NAME...` resolves each name with Go's own resolver
// (the pod's /etc/resolv.conf) and prints the addresses; it exits 1 if any name does not resolve.
// `probe get URL` does an HTTP GET and prints the status line and body.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		fmt.Println("probe: waiting for SIGTERM")
		<-ctx.Done()
		return 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	switch args[0] {
	case "lookup":
		return lookup(ctx, args[1:])
	case "get":
		return get(ctx, args[1:])
	default:
		fmt.Fprintln(os.Stderr, "usage: probe [lookup NAME... | get URL]")
		return 2
	}
}

func lookup(ctx context.Context, names []string) int {
	code := 0
	for _, n := range names {
		addrs, err := net.DefaultResolver.LookupHost(ctx, n)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", n, err)
			code = 1
			continue
		}
		fmt.Printf("%s %s\n", n, strings.Join(addrs, " "))
	}
	return code
}

func get(ctx context.Context, urls []string) int {
	code := 0
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil) //nolint:gosec // a test probe: the URL is its own argument
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", u, err)
			return 2
		}
		resp, err := http.DefaultClient.Do(req) //nolint:gosec // a test probe: the URL is its own argument
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", u, err)
			code = 1
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		fmt.Printf("%s %s\n%s\n", u, resp.Status, body)
		if err != nil || resp.StatusCode >= 400 {
			code = 1
		}
	}
	return code
}
