package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/lotou-io/lotou/runtime/core"
)

func TestParseJSONArg(t *testing.T) {
	tests := []struct {
		in   string
		want any
	}{
		{"42", int64(42)},
		{"2.5", 2.5},
		{`"echo:b"`, "echo:b"},
		{"[1,\"x\"]", []any{int64(1), "x"}},
		{`{"a":1}`, map[string]any{"a": int64(1)}},
		{"null", nil},
	}
	for _, tt := range tests {
		got, err := parseJSONArg(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Fatalf("%s: %#v %v", tt.in, got, err)
		}
	}
	for _, bad := range []string{"echo", "1 2", ""} {
		if _, err := parseJSONArg(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestJSONable(t *testing.T) {
	got := jsonable([]any{core.MakeID(2, 5), map[any]any{1: "x"}})
	want := []any{"2:5", map[string]any{"1": "x"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%#v", got)
	}
}

func TestUsageErrorsExit2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage"},
		{"unknown command", []string{"--master", "m:1", "frob"}, "unknown command"},
		{"no master", []string{"status"}, "--master"},
		{"bad output", []string{"--master", "m:1", "status", "-o", "yaml"}, "table or json"},
		{"call without command", []string{"--master", "m:1", "call", "echo:a"}, "call needs"},
		{"call with non-JSON arg", []string{"--master", "m:1", "call", "echo:a", "echo", "nope"}, "not JSON"},
		{"bench without target", []string{"--master", "m:1", "bench"}, "--target"},
		{"no token", []string{"--master", "m:1", "status"}, "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tt.args, func(string) string { return "" }, &out, &errb)
			if code != 2 || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d stderr %q, want 2 and %q", code, errb.String(), tt.want)
			}
		})
	}
}
