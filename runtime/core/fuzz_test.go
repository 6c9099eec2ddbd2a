package core_test

import (
	"testing"

	"github.com/lotou-io/lotou/runtime/core"
)

// FuzzDeliverLocal feeds hostile messages, as a transport might decode
// them, to a core with typed handlers: nothing may panic or wedge.
func FuzzDeliverLocal(f *testing.F) {
	f.Add(uint8(core.KindCall), "add", uint64(1), uint64(1), int64(2), "x", true)
	f.Add(uint8(core.KindSend), "name", uint64(0), uint64(1), int64(-1), "", false)
	f.Add(uint8(core.KindReply), "", uint64(7), uint64(0), int64(0), "err", false)
	f.Add(uint8(core.KindClose), "", uint64(0), uint64(1), int64(0), "", false)
	f.Add(uint8(core.KindEvent), "", uint64(0), uint64(0), int64(0), "", true)
	f.Add(uint8(0), "add", uint64(3), uint64(99), int64(1<<40), "\xff", true)
	c, err := core.New(core.Options{Node: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = c.Stop(f.Context()) })
	spawnFuzzTarget(f, c)
	f.Fuzz(func(t *testing.T, kind uint8, cmd string, session, seq uint64, n int64, s string, two bool) {
		args := []any{n, s}
		if !two {
			args = []any{s}
		}
		m := &core.Message{
			Kind: core.Kind(kind), From: core.MakeID(2, 5), To: core.MakeID(1, seq),
			Session: session, Cmd: cmd, Args: args, Err: s,
		}
		_ = c.DeliverLocal(m)
		if c.Services() == 0 {
			spawnFuzzTarget(t, c) // a KindClose may have stopped it
		}
	})
}

func spawnFuzzTarget(tb testing.TB, c *core.Core) {
	tb.Helper()
	_, err := c.Spawn(tb.Context(), "", func(s *core.Service) error {
		s.Handle("add", func(a, b int) int { return a + b })
		s.Handle("name", func(x string) string { return x })
		s.Handle("i8", func(a int8, b string) int8 { return a })
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}
