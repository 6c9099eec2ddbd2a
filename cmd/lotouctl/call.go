package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/lotou-io/lotou/runtime/core"
)

func cmdCall(ctx context.Context, g *globals, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, err := subFlags("call", g, args, getenv, stderr, nil)
	if err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return usageError{errors.New("call needs <global name> <command> [json args...]")}
	}
	target, cmd := fs.Arg(0), fs.Arg(1)
	callArgs := make([]any, 0, fs.NArg()-2)
	for _, a := range fs.Args()[2:] {
		v, err := parseJSONArg(a)
		if err != nil {
			return usageError{fmt.Errorf("argument %q is not JSON: %w", a, err)}
		}
		callArgs = append(callArgs, v)
	}
	c, err := join(ctx, g, getenv, stderr)
	if err != nil {
		return err
	}
	defer c.close()
	cctx, cancel := context.WithTimeout(ctx, g.timeout)
	defer cancel()
	id, err := c.core.Lookup(cctx, target)
	if err != nil {
		return fmt.Errorf("call %s %s: %w", target, cmd, err)
	}
	ret, err := c.core.Call(cctx, id, cmd, callArgs...)
	if err != nil {
		return fmt.Errorf("call %s (%v) %s: %w", target, id, cmd, err)
	}
	if ret == nil {
		ret = []any{}
	}
	out, err := json.Marshal(jsonable(ret))
	if err != nil {
		return fmt.Errorf("printing reply: %w", err)
	}
	_, err = fmt.Fprintln(stdout, string(out))
	return err
}

// parseJSONArg decodes one argument; integral numbers become int64 so that
// services taking integers receive integers.
func parseJSONArg(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data")
	}
	return fromJSON(v), nil
}

func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
		return x
	default:
		return v
	}
}

// jsonable turns values JSON cannot print (ServiceIDs, maps with non-string
// keys) into printable ones.
func jsonable(v any) any {
	switch x := v.(type) {
	case core.ServiceID:
		return x.String()
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = jsonable(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	default:
		return v
	}
}
