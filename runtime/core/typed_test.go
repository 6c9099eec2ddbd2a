package core_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/lotou-io/lotou/runtime/core"
)

// jsonArgs is an ArgDecoder for tests: the arguments are a JSON array.
type jsonArgs struct{}

func (jsonArgs) DecodeArgsValues(data []byte, dst []reflect.Value) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if len(raw) != len(dst) {
		return fmt.Errorf("%d arguments for %d parameters", len(raw), len(dst))
	}
	for i, v := range dst {
		if err := json.Unmarshal(raw[i], v.Addr().Interface()); err != nil {
			return fmt.Errorf("argument %d: %w", i, err)
		}
	}
	return nil
}

// TestDecodeArgsFor checks which handlers take arguments decoded straight
// into their parameters, that those arrive intact (typed bodies and the
// reflect path alike), that a list that does not fit is left to the []any
// path, and that values a handler kept are not overwritten by the next
// message's decoding (the sets are pooled).
func TestDecodeArgsFor(t *testing.T) {
	c1, c2, _ := twoNodes(t)
	got := make(chan any, 1)
	svc := spawn(t, c2, "", func(s *core.Service) error {
		s.Handle("int", func(n int) { got <- n })
		s.Handle("str", func(_ *core.Context, x string) error { got <- x; return nil })
		s.Handle("list", func(n int, x string, xs []int32) { got <- fmt.Sprintf("%d %s %v", n, x, xs) })
		s.Handle("keep", func(xs []int32) { got <- xs })
		s.Handle("any", func(x any) { got <- x })
		s.Handle("none", func() { got <- "none" })
		s.Handle("raw", func(_ *core.Context, a []any) ([]any, error) { got <- a; return nil, nil })
		return nil
	})
	deliver := func(cmd, data string) (bool, error) {
		m := core.Message{Kind: core.KindSend, From: c1.ID(), To: svc.ID(), Cmd: cmd}
		typed, err := c2.DecodeArgsFor(&m, jsonArgs{}, []byte(data))
		if typed {
			if derr := c2.DeliverLocal(&m); derr != nil {
				t.Fatalf("delivering %s: %v", cmd, derr)
			}
		}
		return typed, err
	}
	tests := []struct {
		cmd, data string
		typed     bool
		want      any
	}{
		{"int", `[1000000]`, true, 1000000},
		{"str", `["héllo"]`, true, "héllo"},
		{"list", `[7, "x", [1, 2, 3]]`, true, "7 x [1 2 3]"},
		{"any", `[1]`, false, nil},
		{"none", `[]`, false, nil},
		{"raw", `[1]`, false, nil},
		{"missing", `[1]`, false, nil},
		{"int", `["not a number"]`, false, nil},
		{"int", `[1, 2]`, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.cmd+" "+tt.data, func(t *testing.T) {
			typed, err := deliver(tt.cmd, tt.data)
			if typed != tt.typed {
				t.Fatalf("typed = %v (%v), want %v", typed, err, tt.typed)
			}
			if !typed {
				return
			}
			if v := <-got; !reflect.DeepEqual(v, tt.want) {
				t.Fatalf("handler got %#v, want %#v", v, tt.want)
			}
		})
	}
	t.Run("kept values survive the next message", func(t *testing.T) {
		if typed, err := deliver("keep", `[[1, 2, 3]]`); !typed {
			t.Fatal(err)
		}
		first := (<-got).([]int32)
		if typed, err := deliver("keep", `[[9, 9, 9]]`); !typed {
			t.Fatal(err)
		}
		<-got
		if !reflect.DeepEqual(first, []int32{1, 2, 3}) {
			t.Fatalf("first slice became %v", first)
		}
	})
	t.Run("other node or kind", func(t *testing.T) {
		m := core.Message{Kind: core.KindSend, From: c2.ID(), To: svc.ID(), Cmd: "int"}
		if typed, _ := c1.DecodeArgsFor(&m, jsonArgs{}, []byte(`[1]`)); typed {
			t.Fatal("decoded for a service of another node")
		}
		m = core.Message{Kind: core.KindClose, From: c1.ID(), To: svc.ID(), Cmd: "int"}
		if typed, _ := c2.DecodeArgsFor(&m, jsonArgs{}, []byte(`[1]`)); typed {
			t.Fatal("decoded for a close notice")
		}
	})
}

// TestDecodeArgsForReplacedHandler: a handler replaced between the decoding
// and the dispatch gets the values boxed, as from the []any path.
func TestDecodeArgsForReplacedHandler(t *testing.T) {
	c1, c2, _ := twoNodes(t)
	got := make(chan any, 1)
	svc := spawn(t, c2, "", func(s *core.Service) error {
		s.Handle("n", func(n int) { got <- n })
		s.Handle("swap", func(c *core.Context) {
			c.Handle("n", func(x any) { got <- fmt.Sprintf("new %v", x) })
			got <- "swapped"
		})
		s.Handle("block", func(release chan struct{}) { <-release })
		return nil
	})
	release := make(chan struct{})
	if err := c2.Send(svc.ID(), "block", release); err != nil {
		t.Fatal(err)
	}
	if err := c2.Send(svc.ID(), "swap"); err != nil {
		t.Fatal(err)
	}
	m := core.Message{Kind: core.KindSend, From: c1.ID(), To: svc.ID(), Cmd: "n"}
	if typed, err := c2.DecodeArgsFor(&m, jsonArgs{}, []byte(`[5]`)); !typed {
		t.Fatal(err)
	}
	if err := c2.DeliverLocal(&m); err != nil {
		t.Fatal(err)
	}
	close(release)
	if v := <-got; v != "swapped" {
		t.Fatalf("got %v first", v)
	}
	if v := <-got; v != "new 5" {
		t.Fatalf("replaced handler got %v, want new 5", v)
	}
}
