// Command rawtcp is the raw TCP baseline of the real-process benchmark: a
// 32-byte echo, one connection per caller, no framing beyond the fixed
// size, no encoding. It prints the same line as `lotouctl bench`.
//
//	rawtcp -serve 127.0.0.1:9000
//	rawtcp -target 127.0.0.1:9000 -concurrency 16 -duration 5s [-mode send]
//
// In call mode each caller writes a message and waits for its echo. In send
// mode each caller writes -window one-way messages and then one marked
// message the server answers (the barrier that keeps the sender honest);
// p50/p99 are those of a whole window.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const msgSize = 32

func main() {
	serve := flag.String("serve", "", "listen address (server mode)")
	target := flag.String("target", "", "server address (client mode)")
	conc := flag.Int("concurrency", 1, "callers, one connection each")
	dur := flag.Duration("duration", 5*time.Second, "how long to run")
	mode := flag.String("mode", "call", "call or send")
	window := flag.Int("window", 0, "send mode: messages per barrier, the last answered (default: 1000/concurrency, at least 2, as lotouctl bench)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch {
	case *serve != "":
		err = runServer(ctx, *serve)
	case *target != "":
		err = runClient(ctx, *target, *mode, *conc, *window, *dur)
	default:
		err = errors.New("need -serve or -target")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawtcp:", err)
		os.Exit(1)
	}
}

func runServer(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	var wg sync.WaitGroup
	go func() { // ends when ctx does; joined through Accept failing
		<-ctx.Done()
		_ = ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("accepting: %w", err)
		}
		wg.Go(func() { echo(ctx, c) })
	}
}

// echo answers every message whose first byte is not 0 (0 marks a one-way
// message).
func echo(ctx context.Context, c net.Conn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	buf := make([]byte, msgSize)
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			return
		}
		if buf[0] == 0 {
			continue
		}
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

func runClient(ctx context.Context, addr, mode string, n, window int, d time.Duration) error {
	if mode != "call" && mode != "send" {
		return fmt.Errorf("unknown mode %q", mode)
	}
	if window <= 0 {
		window = max(2, 1000/n)
	}
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return fmt.Errorf("dialing %s: %w", addr, err)
		}
		defer c.Close()
		conns[i] = c
	}
	bctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var msgs, fails atomic.Uint64
	lat := make([][]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for w, c := range conns {
		wg.Go(func() {
			one := make([]byte, msgSize)
			burst := make([]byte, msgSize*window)
			burst[len(burst)-msgSize] = 1 // the barrier the server answers
			reply := make([]byte, msgSize)
			for bctx.Err() == nil {
				t0 := time.Now()
				out, count := one, uint64(1)
				one[0] = 1
				if mode == "send" {
					out, count = burst, uint64(window)
				}
				if _, err := c.Write(out); err != nil {
					fails.Add(1)
					return
				}
				if _, err := io.ReadFull(c, reply); err != nil {
					fails.Add(1)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
				msgs.Add(count)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	var p50, p99 time.Duration
	if len(all) > 0 {
		p50, p99 = all[len(all)/2], all[len(all)*99/100]
	}
	fmt.Printf("target %s  mode %s  concurrency %d  duration %v\ncalls %d  errors %d  rate %.0f msgs/s  p50 %v  p99 %v\n",
		addr, mode, n, elapsed.Round(time.Millisecond), msgs.Load(), fails.Load(), float64(msgs.Load())/elapsed.Seconds(), p50, p99)
	return nil
}
