package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// TestTypedRemoteArguments sends over real TCP to handlers that take their
// arguments decoded straight into their parameters (core.DecodeArgsFor):
// the values arrive intact, and a list that does not fit the parameters
// still gets the ErrBadArgs reply of the []any path.
func TestTypedRemoteArguments(t *testing.T) {
	m := startNode(t, contract.RoleMaster, "m", "127.0.0.1:0", "")
	a := startNode(t, contract.RoleSlave, "a", "127.0.0.1:0", m.cl.Addr())
	got := make(chan int, 1)
	svc, err := m.core.Spawn(context.Background(), "", func(s *core.Service) error {
		s.Handle("n", func(n int) { got <- n })
		s.Handle("twice", func(n int) int { return 2 * n })
		s.Handle("greet", func(_ *core.Context, x string) (string, error) { return "hi " + x, nil })
		s.Handle("sum", func(xs []int32, k int64) int64 {
			for _, x := range xs {
				k += int64(x)
			}
			return k
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	calls := []struct {
		cmd  string
		args []any
		want any
	}{
		{"twice", []any{1 << 40}, 2 << 40},
		{"greet", []any{"a"}, "hi a"},
		{"sum", []any{[]int32{1, 2, 3}, int64(1000)}, int64(1006)},
	}
	for _, c := range calls {
		ret, err := a.core.Call(ctx, svc.ID(), c.cmd, c.args...)
		if err != nil || len(ret) != 1 || ret[0] != c.want {
			t.Fatalf("%s%v = %v, %v; want %v", c.cmd, c.args, ret, err, c.want)
		}
	}
	if _, err := a.core.Call(ctx, svc.ID(), "twice", "not a number"); !errors.Is(err, core.ErrBadArgs) {
		t.Fatalf("mismatched argument: %v, want ErrBadArgs", err)
	}
	if err := a.core.Send(svc.ID(), "n", 123456); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n != 123456 {
			t.Fatalf("send got %d", n)
		}
	case <-ctx.Done():
		t.Fatal("send never handled")
	}
}
