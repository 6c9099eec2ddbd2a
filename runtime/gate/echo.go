package gate

import (
	"context"
	"fmt"

	"github.com/lotou-io/lotou/runtime/core"
)

// EchoService is the node-local name of the built-in echo game: lotou-node's
// gate forwards to it when the program names no game service, so a bare
// node can be load-tested (lotouctl loadtest) and benchmarked.
const EchoService = ".gate-echo"

// echoMailbox lets one echo service absorb the bursts of 10,000 clients.
const echoMailbox = 1 << 16

// StartEcho starts the echo game on k: the command "echo" answers its
// payload; anything else is an unknown command.
func StartEcho(ctx context.Context, k *core.Core) (*core.Service, error) {
	s, err := k.Spawn(ctx, EchoService, func(s *core.Service) error {
		// The raw handler form: every gate message passes here, and the
		// typed form func(core.ServiceID, string, []byte) []byte would
		// cost a reflect.Call each.
		s.Handle("echo", func(_ *core.Context, args []any) ([]any, error) {
			if len(args) != 3 {
				return nil, fmt.Errorf("echo takes (agent, user, payload), got %d values: %w", len(args), core.ErrBadArgs)
			}
			p, ok := args[2].([]byte)
			if !ok && args[2] != nil {
				return nil, fmt.Errorf("echo's payload is a %T, want []byte: %w", args[2], core.ErrBadArgs)
			}
			return []any{p}, nil
		})
		s.Handle("disconnected", func(core.ServiceID, string) {})
		return nil
	}, core.WithMailboxSize(echoMailbox))
	if err != nil {
		return nil, fmt.Errorf("starting the gate echo game: %w", err)
	}
	return s, nil
}
