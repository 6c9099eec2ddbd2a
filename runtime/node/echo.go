package node

import (
	"context"
	"fmt"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// StartEcho starts the built-in echo service on k under the global name
// contract.EchoName(nodeName). It answers the command "echo" with its
// arguments unchanged: the smallest service that proves a cluster works.
//
// It also answers "relay" <global name> <command> [args...]: it calls that
// service itself and returns its reply, so that a node-to-node call can be
// started from outside (lotouctl call echo:a relay echo:b echo 42).
func StartEcho(ctx context.Context, k *core.Core, nodeName string) (*core.Service, error) {
	s, err := k.Spawn(ctx, contract.EchoName(nodeName), func(s *core.Service) error {
		s.Handle("echo", func(_ *core.Context, args []any) ([]any, error) { return args, nil })
		s.Handle("relay", func(_ *core.Context, args []any) ([]any, error) { return relay(s, args) })
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("starting echo service: %w", err)
	}
	return s, nil
}

// relayTimeout bounds the call a relay makes.
const relayTimeout = 5 * time.Second

func relay(s *core.Service, args []any) ([]any, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("relay needs <global name> <command> [args...]: %w", core.ErrBadArgs)
	}
	name, ok1 := args[0].(string)
	cmd, ok2 := args[1].(string)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("relay: name and command must be strings: %w", core.ErrBadArgs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), relayTimeout)
	defer cancel()
	id, err := s.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.Call(ctx, id, cmd, args[2:]...)
}
