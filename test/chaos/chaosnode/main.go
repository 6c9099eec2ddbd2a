package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/node"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}

// LedgerName is the global name of the ledger service of node name.
func LedgerName(name string) string { return "ledger:" + name }

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("chaosnode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts node.Options
	var tokenFile, recordDir, logLevel string
	fs.StringVar(&opts.Role, "role", contract.RoleSlave, "master or slave")
	fs.StringVar(&opts.Name, "name", "", "node name")
	fs.StringVar(&opts.Listen, "listen", "", "cluster TCP address")
	fs.StringVar(&opts.Advertise, "advertise", "", "address peers dial (the harness's proxy)")
	fs.StringVar(&opts.Master, "master", "", "master address (slaves)")
	fs.StringVar(&opts.HTTP, "http", "", "HTTP address (/cluster, /metrics)")
	fs.StringVar(&tokenFile, "token-file", "", "file holding the cluster token")
	fs.StringVar(&recordDir, "record-dir", "", "directory of the execution records")
	fs.StringVar(&logLevel, "log-level", "info", "error, info or debug")
	fs.DurationVar(&opts.Heartbeat, "heartbeat-interval", 200*time.Millisecond, "heartbeat period")
	fs.DurationVar(&opts.CallTimeout, "call-timeout", 2*time.Second, "default call deadline")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	tok, err := os.ReadFile(tokenFile) //nolint:gosec // G304: the harness names the file
	if err != nil || recordDir == "" {
		_, _ = fmt.Fprintf(stderr, "chaosnode: --token-file and --record-dir are required (%v)\n", err)
		return 2
	}
	opts.Token = []byte(strings.TrimSpace(string(tok)))
	if opts.Log, err = node.NewLogger(stderr, logLevel); err != nil {
		_, _ = fmt.Fprintf(stderr, "chaosnode: %v\n", err)
		return 2
	}
	recPath := filepath.Join(recordDir, fmt.Sprintf("exec-%s-%d.log", opts.Name, os.Getpid()))
	rec, err := os.OpenFile(recPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600) //nolint:gosec // G304: the harness names the directory
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "chaosnode: %v\n", err)
		return 2
	}
	defer rec.Close()
	name := opts.Name
	opts.Start = func(ctx context.Context, k *core.Core) error {
		sctx, cancel := context.WithTimeout(ctx, opts.CallTimeout)
		defer cancel()
		return startLedger(sctx, k, name, rec)
	}
	n, err := node.New(opts)
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "chaosnode: %v\n", err)
		return 2
	}
	if err := n.Run(ctx); err != nil {
		opts.Log.Error(err, "Node failed")
		return 1
	}
	return 0
}

// startLedger spawns the ledger service of node name, recording into rec.
func startLedger(ctx context.Context, k *core.Core, name string, rec io.Writer) error {
	_, err := k.Spawn(ctx, LedgerName(name), func(s *core.Service) error {
		s.Handle("exec", func(_ *core.Context, args []any) ([]any, error) {
			if len(args) != 2 {
				return nil, fmt.Errorf("exec <id> <work ms>: %w", core.ErrBadArgs)
			}
			id, ok := args[0].(string)
			work, ok2 := toInt(args[1])
			if !ok || !ok2 || strings.ContainsAny(id, "\n ") {
				return nil, fmt.Errorf("exec <id> <work ms>: %w", core.ErrBadArgs)
			}
			time.Sleep(time.Duration(work) * time.Millisecond)
			if _, err := io.WriteString(rec, id+" "+strconv.FormatInt(time.Now().UnixNano(), 10)+"\n"); err != nil {
				return nil, fmt.Errorf("recording %s: %w", id, err)
			}
			return []any{id}, nil
		})
		s.Handle("relay", func(_ *core.Context, args []any) ([]any, error) {
			return relay(s, args)
		})
		return nil
	})
	if err != nil {
		return fmt.Errorf("starting the ledger: %w", err)
	}
	return nil
}

func relay(s *core.Service, args []any) ([]any, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("relay <id> <name> <work ms> <budget ms>: %w", core.ErrBadArgs)
	}
	id, ok1 := args[0].(string)
	target, ok2 := args[1].(string)
	work, ok3 := toInt(args[2])
	budget, ok4 := toInt(args[3])
	if !ok1 || !ok2 || !ok3 || !ok4 || budget <= 0 {
		return nil, fmt.Errorf("relay <id> <name> <work ms> <budget ms>: %w", core.ErrBadArgs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(budget)*time.Millisecond)
	defer cancel()
	to, err := s.Lookup(ctx, target)
	if err != nil {
		return nil, fmt.Errorf("relay looking up %s: %w", target, err)
	}
	ret, err := s.Call(ctx, to, "exec", id, work)
	if err != nil {
		return nil, fmt.Errorf("relay to %s: %w", target, err)
	}
	return ret, nil
}

func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case uint64:
		return int64(x), x < 1<<62
	default:
		return 0, false
	}
}
