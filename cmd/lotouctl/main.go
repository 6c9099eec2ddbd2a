package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// globals are the flags every subcommand accepts.
type globals struct {
	master, tokenFile, output, name, logLevel string
	tlsCert, tlsKey, tlsCA                    string
	discovery, etcdEndpoints                  string
	timeout                                   time.Duration
}

func (g *globals) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&g.master, "master", g.master, "master host:port [$"+contract.EnvMaster+"]")
	fs.StringVar(&g.tokenFile, "token-file", g.tokenFile, "file holding the cluster token [$"+contract.EnvTokenFile+", or $"+contract.EnvClusterToken+"]")
	fs.StringVar(&g.output, "o", g.output, "output format: table or json")
	fs.StringVar(&g.name, "name", g.name, "node name this client joins under")
	fs.StringVar(&g.logLevel, "log-level", g.logLevel, "error, info or debug")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "deadline of joining and of each call")
	fs.StringVar(&g.tlsCert, "tls-cert", g.tlsCert, "PEM certificate, when the cluster uses TLS")
	fs.StringVar(&g.tlsKey, "tls-key", g.tlsKey, "PEM key, when the cluster uses TLS")
	fs.StringVar(&g.tlsCA, "tls-ca", g.tlsCA, "PEM CA verifying the nodes")
	fs.StringVar(&g.discovery, "discovery", g.discovery, "how to find the cluster: master or etcd [$"+contract.EnvDiscovery+"]")
	fs.StringVar(&g.etcdEndpoints, "etcd-endpoints", g.etcdEndpoints, "comma list of etcd client URLs (etcd discovery) [$"+contract.EnvEtcdEndpoints+
		"]; $"+contract.EnvEtcdUsername+", $"+contract.EnvEtcdPassword+", $"+contract.EnvEtcdTLSDir+" and $"+contract.EnvEtcdPrefix+" as for lotou-node")
	_ = getenv
}

const usage = `usage: lotouctl [flags] <command> [args]

commands:
  status                                   nodes and global names of the cluster
  call <global name> <command> [json...]   call a service, print the reply as JSON
  bench --target <global name> [--duration 10s] [--concurrency N]
                                           call load with live progress and a summary
  loadtest --gate <host:port> [--clients N] [--rate R] [--duration D] [--ws] [--mode chat|echo] [--metrics <http host:port>]
                                           game clients through a gate: messages/s, round trips, RSS per connection

flags (accepted before or after the command):
`

// run executes one command and returns the exit code: 0 success, 1 failure,
// 2 usage error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	g := &globals{
		master: getenv(contract.EnvMaster), tokenFile: getenv(contract.EnvTokenFile), output: "table",
		discovery: getenv(contract.EnvDiscovery), etcdEndpoints: getenv(contract.EnvEtcdEndpoints),
		name: fmt.Sprintf("lotouctl-%d", os.Getpid()), logLevel: "error", timeout: 5 * time.Second,
	}
	fs := flag.NewFlagSet("lotouctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	g.register(fs, getenv)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage(err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	var err error
	switch cmd {
	case "status":
		err = cmdStatus(ctx, g, rest, getenv, stdout, stderr)
	case "call":
		err = cmdCall(ctx, g, rest, getenv, stdout, stderr)
	case "bench":
		err = cmdBench(ctx, g, rest, getenv, stdout, stderr)
	case "loadtest":
		err = cmdLoadtest(ctx, g, rest, getenv, stdout, stderr)
	default:
		err = usageError{fmt.Errorf("unknown command %q", cmd)}
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		_, _ = fmt.Fprintf(stderr, "lotouctl: %v\n", err)
		return 2
	default:
		_, _ = fmt.Fprintf(stderr, "lotouctl: %v\n", err)
		return 1
	}
}

func exitUsage(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// usageError marks errors that deserve exit code 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

// subFlags parses a subcommand's own flags plus the global ones.
func subFlags(name string, g *globals, args []string, getenv func(string) string, stderr io.Writer, extra func(*flag.FlagSet)) (*flag.FlagSet, error) {
	fs := flag.NewFlagSet("lotouctl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	g.register(fs, getenv)
	if extra != nil {
		extra(fs)
	}
	// Allow flags after positional arguments too.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if err := fs.Parse(nil); err != nil {
		return nil, usageError{err}
	}
	switch g.discovery {
	case "", contract.DiscoveryMaster:
		if g.master == "" {
			return nil, usageError{fmt.Errorf("--master (or %s) is required", contract.EnvMaster)}
		}
	case contract.DiscoveryEtcd:
		if g.etcdEndpoints == "" {
			return nil, usageError{fmt.Errorf("--etcd-endpoints (or %s) is required with etcd discovery", contract.EnvEtcdEndpoints)}
		}
	default:
		return nil, usageError{fmt.Errorf("--discovery %q: want %s or %s", g.discovery, contract.DiscoveryMaster, contract.DiscoveryEtcd)}
	}
	if g.output != "table" && g.output != "json" {
		return nil, usageError{fmt.Errorf("-o %q: want table or json", g.output)}
	}
	return withArgs(fs, pos), nil
}

// withArgs re-parses fs so that fs.Args() returns the positional arguments.
func withArgs(fs *flag.FlagSet, pos []string) *flag.FlagSet {
	out := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	out.SetOutput(io.Discard)
	_ = out.Parse(append([]string{"--"}, pos...))
	return out
}

func readToken(g *globals, getenv func(string) string) ([]byte, error) {
	if g.tokenFile != "" {
		b, err := os.ReadFile(g.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading token file: %w", err)
		}
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return []byte(tok), nil
		}
		return nil, usageError{fmt.Errorf("token file %s holds no token", g.tokenFile)}
	}
	if t := strings.TrimSpace(getenv(contract.EnvClusterToken)); t != "" { // trimmed as lotou-node does
		return []byte(t), nil
	}
	return nil, usageError{fmt.Errorf("a cluster token is required (--token-file, %s or %s)", contract.EnvTokenFile, contract.EnvClusterToken)}
}
