package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/go-logr/logr"

	"github.com/lotou-io/lotou/runtime/cluster"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/gate"
)

// App is what a program adds to a node: its own services and its gate's
// game side. The zero App is lotou-node.
type App struct {
	// Name names the program in usage and error messages ("lotou-node").
	Name string
	// Start starts the program's services (see Options.Start).
	Start func(ctx context.Context, k *core.Core) error
	// Gate configures the game-client gate, which runs when --gate or
	// LOTOU_GATE is set. Addr comes from the configuration. An empty Service
	// is the built-in echo game (gate.EchoService); a nil Auth is the
	// --gate-auth check (tickets under the cluster token, or any name).
	// The limits set in the configuration (--gate-max-message and the
	// other --gate-* limits, see GateLimits) override these.
	Gate gate.Options
}

// Exit codes returned by Main.
const (
	ExitOK        = 0
	ExitFailure   = 1
	ExitConfig    = 2
	ExitDuplicate = 3 // the master refused the node: a live node has its name (cluster.ErrDuplicateName)
)

// Main runs a node configured from os.Args, the environment and the YAML
// file exactly like lotou-node, until ctx ends (wire it to SIGTERM); it
// returns the process exit code (ExitOK after a graceful stop, ExitFailure,
// ExitConfig, ExitDuplicate). A game's main is then:
//
//	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
//	code := node.Main(ctx, node.App{Name: "chat", Start: chat.Start, Gate: gate.Options{Service: ".chat"}})
//	stop()
//	os.Exit(code)
//
// When ctx ends the gate drains first (no new clients, a move notice to
// every client, a wait until none is left or --drain-timeout), then the
// node leaves the cluster gracefully. No preStop hook is needed.
func Main(ctx context.Context, app App) int {
	return MainArgs(ctx, os.Args[1:], os.Getenv, os.Stderr, app)
}

// MainArgs is Main with explicit arguments, environment and error output.
// Logs go through the node's asynchronous sink, whose writer goroutine
// MainArgs owns: it is stopped, and what it buffered is flushed, only after
// the node has left, so the last lines are never lost.
func MainArgs(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, app App) int {
	prog := app.Name
	if prog == "" {
		prog = "lotou-node"
	}
	cfg, err := ParseConfig(prog, args, getenv, stderr)
	if errors.Is(err, ErrHelp) {
		return 0
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 2
	}
	sink, err := NewSink(stderr, cfg.LogLevel, 0)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return 2
	}
	sinkCtx, stopSink := context.WithCancel(context.WithoutCancel(ctx))
	sinkDone := make(chan error, 1)
	go func() { sinkDone <- sink.Run(sinkCtx) }()
	defer func() {
		stopSink()
		if err := <-sinkDone; err != nil {
			_, _ = fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		}
	}()
	log := sink.Logger()
	cfg.Options.Log = log
	cfg.Options.LogDropped = sink.Dropped
	r := &runner{cfg: cfg, app: app, log: log}
	if code, err := r.prepare(); err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", prog, err)
		return code
	}
	if err := r.run(ctx); err != nil {
		log.Error(err, "Node failed")
		if errors.Is(err, cluster.ErrDuplicateName) {
			return ExitDuplicate
		}
		return ExitFailure
	}
	return ExitOK
}

// runner runs one node and its optional gate.
type runner struct {
	cfg     Config
	app     App
	log     logr.Logger
	n       *Node
	g       *gate.Gate
	started chan *core.Core
}

// prepare builds the gate and the node; it returns the exit code to use on
// failure.
func (r *runner) prepare() (int, error) {
	opts := r.cfg.Options
	r.started = make(chan *core.Core, 1)
	if r.cfg.Gate != "" {
		gopts := r.app.Gate
		gopts.Addr = r.cfg.Gate
		r.cfg.GateLimits.apply(&gopts)
		if gopts.Service == "" {
			gopts.Service = gate.EchoService
		}
		if gopts.Auth == nil {
			if r.cfg.GateAuth == GateAuthName {
				gopts.Auth = gate.NameAuth
			} else if gopts.Secret == nil {
				gopts.Secret = opts.Token
			}
		}
		if gopts.Log.GetSink() == nil {
			gopts.Log = r.log.WithName("gate")
		}
		g, err := gate.New(gopts)
		if err != nil {
			return 2, err
		}
		if err := g.Listen(); err != nil {
			return 1, err
		}
		r.g = g
		opts.Collectors = append(opts.Collectors, g.Metrics())
		opts.Draining = g.Draining
	}
	opts.Start = r.start
	n, err := New(opts)
	if err != nil {
		if r.g != nil {
			_ = r.g.Close()
		}
		return 2, err
	}
	r.n = n
	return 0, nil
}

// start is the node's Start hook: the echo game and the sessions service
// when there is a gate, then the program's services.
func (r *runner) start(ctx context.Context, k *core.Core) error {
	if r.g != nil {
		if r.app.Gate.Service == "" {
			if _, err := gate.StartEcho(ctx, k); err != nil {
				return err
			}
		}
		g := r.g
		if _, err := k.Spawn(ctx, contract.GateName(r.cfg.Options.Name), func(s *core.Service) error {
			s.Handle("sessions", func() int { return g.Sessions() })
			return nil
		}); err != nil {
			return fmt.Errorf("starting the gate's sessions service: %w", err)
		}
	}
	if r.app.Start != nil {
		if err := r.app.Start(ctx, k); err != nil {
			return err
		}
	}
	r.started <- k
	return nil
}

// run serves until ctx ends, then drains the gate and stops the node; or
// until the node fails on its own.
func (r *runner) run(ctx context.Context) error {
	nodeCtx, stopNode := context.WithCancel(context.WithoutCancel(ctx))
	defer stopNode()
	nodeDone := make(chan error, 1)
	go func() { nodeDone <- r.n.Run(nodeCtx) }()
	gateCtx, stopGate := context.WithCancel(context.Background())
	defer stopGate()
	gateDone := make(chan error, 1)
	if r.g == nil {
		gateDone <- nil
	}
	select {
	case k := <-r.started:
		if r.g != nil {
			go func() { gateDone <- r.g.Run(gateCtx, k) }()
		}
	case err := <-nodeDone: // the node failed before its services started
		if r.g != nil {
			_ = r.g.Close()
		}
		return err
	}
	select {
	case <-ctx.Done():
		if r.g != nil {
			r.drain(ctx)
		}
		stopGate()
		gerr := <-gateDone
		stopNode()
		return errors.Join(gerr, <-nodeDone)
	case err := <-nodeDone:
		stopGate()
		return errors.Join(err, <-gateDone)
	}
}

// drain moves the gate's clients away before the node leaves.
func (r *runner) drain(ctx context.Context) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.DrainTimeout)
	defer cancel()
	r.log.Info("Draining the gate", "sessions", r.g.Sessions(), "timeout", r.cfg.DrainTimeout.String())
	if left := r.g.Drain(dctx); left > 0 {
		r.log.Info("Drain timeout: closing the clients left", "sessions", left)
		return
	}
	r.log.Info("Gate drained")
}
