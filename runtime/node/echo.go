package node

import (
	"context"
	"fmt"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// StartEcho starts the built-in echo service on k under the global name
// contract.EchoName(nodeName). It answers the command "echo" with its
// arguments unchanged: the smallest service that proves a cluster works.
func StartEcho(ctx context.Context, k *core.Core, nodeName string) (*core.Service, error) {
	s, err := k.Spawn(ctx, contract.EchoName(nodeName), func(s *core.Service) error {
		s.Handle("echo", func(_ *core.Context, args []any) ([]any, error) { return args, nil })
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("starting echo service: %w", err)
	}
	return s, nil
}
