// Command echo runs the benchmark's echo servers (package gatebench): a raw
// TCP one and a coder/websocket one (path /ws), for hack/bench-gate.sh.
//
//	echo --tcp 127.0.0.1:7101 --ws 127.0.0.1:7102
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	gatebench "github.com/lotou-io/lotou/bench/gate"
)

func main() {
	tcpAddr := flag.String("tcp", "127.0.0.1:7101", "raw TCP echo address")
	wsAddr := flag.String("ws", "127.0.0.1:7102", "WebSocket echo address (path /ws)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, *tcpAddr, *wsAddr); err != nil {
		fmt.Fprintln(os.Stderr, "echo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, tcpAddr, wsAddr string) error {
	tln, err := net.Listen("tcp", tcpAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: wsAddr, Handler: gatebench.WSHandler(), ReadHeaderTimeout: 10 * time.Second}
	wln, err := net.Listen("tcp", wsAddr)
	if err != nil {
		_ = tln.Close()
		return err
	}
	errs := make(chan error, 2)
	go func() { errs <- gatebench.ServeTCP(tln) }()
	go func() {
		if err := srv.Serve(wln); !errors.Is(err, http.ErrServerClosed) {
			errs <- err
			return
		}
		errs <- nil
	}()
	fmt.Printf("echo: tcp %s, ws %s/ws\n", tln.Addr(), wln.Addr())
	<-ctx.Done()
	_ = tln.Close()
	sctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	return errors.Join(<-errs, <-errs)
}
