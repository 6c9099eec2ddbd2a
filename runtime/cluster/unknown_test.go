package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// pos is registered on the sending node only.
type pos struct{ X, Y int }

func withPos(o *Options) {
	o.Codec = newCodec()
	if err := o.Codec.RegisterName("test.pos", pos{}); err != nil {
		panic(err)
	}
}

// TestUnregisteredType: a struct the receiving node has not registered
// fails a Call, a Request or (in a reply) the caller's Call at once with an
// error naming the type; a one-way Send is logged at info with its sender.
func TestUnregisteredType(t *testing.T) {
	m := startNode(t, contract.RoleMaster, "m", "127.0.0.1:0", "")
	a := startNode(t, contract.RoleSlave, "a", "127.0.0.1:0", m.cl.Addr(), withPos)
	b := startNode(t, contract.RoleSlave, "b", "127.0.0.1:0", m.cl.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	echoB, err := a.core.Lookup(ctx, contract.EchoName("b"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("call", func(t *testing.T) {
		_, err := a.core.Call(ctx, echoB, "echo", pos{1, 2})
		if err == nil || errors.Is(err, core.ErrCallTimeout) {
			t.Fatalf("err = %v, want an error reply before the deadline", err)
		}
		if !strings.Contains(err.Error(), codec.ErrUnknownType.Error()) || !strings.Contains(err.Error(), "test.pos") {
			t.Fatalf("err = %v, want it to name test.pos and %v", err, codec.ErrUnknownType)
		}
	})
	t.Run("request", func(t *testing.T) {
		got := make(chan error, 1)
		svc, err := a.core.Spawn(ctx, "requester", func(s *core.Service) error {
			s.Handle("go", func(*core.Context, []any) ([]any, error) {
				s.Request(echoB, 10*time.Second, func(_ []any, err error) { got <- err }, "echo", pos{3, 4})
				return nil, nil
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := a.core.Send(svc.ID(), "go"); err != nil {
			t.Fatal(err)
		}
		err = <-got
		if err == nil || errors.Is(err, core.ErrCallTimeout) || !strings.Contains(err.Error(), "test.pos") {
			t.Fatalf("request err = %v, want an error reply naming test.pos", err)
		}
	})
	t.Run("reply", func(t *testing.T) {
		if _, err := a.core.Spawn(ctx, "positions", func(s *core.Service) error {
			s.Handle("where", func(*core.Context, []any) ([]any, error) { return []any{pos{7, 8}}, nil })
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		id, err := b.core.Lookup(ctx, "positions")
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.core.Call(ctx, id, "where")
		if err == nil || errors.Is(err, core.ErrCallTimeout) || !strings.Contains(err.Error(), "test.pos") {
			t.Fatalf("err = %v, want an error naming test.pos before the deadline", err)
		}
	})
	t.Run("send", func(t *testing.T) {
		if err := a.core.Send(echoB, "echo", pos{5, 6}); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the drop logged", 3*time.Second, func() bool {
			for line := range strings.Lines(b.logs.String()) {
				if strings.Contains(line, "unregistered type") && strings.Contains(line, `"from"`) && strings.Contains(line, "test.pos") {
					return true
				}
			}
			return false
		})
	})
}
