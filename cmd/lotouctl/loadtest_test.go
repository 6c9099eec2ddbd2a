package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/gate"
)

func TestLoadtestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no gate", []string{"loadtest"}},
		{"bad mode", []string{"loadtest", "--gate", "127.0.0.1:1", "--mode", "poker"}},
		{"no clients", []string{"loadtest", "--gate", "127.0.0.1:1", "--clients", "0"}},
		{"unknown flag", []string{"loadtest", "--gate", "127.0.0.1:1", "--frob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, func(string) string { return "" }, &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2; stderr %q", code, errb.String())
			}
		})
	}
}

// TestLoadtestEcho drives an in-process gate with the echo game: no
// --master needed, and the summary counts the replies.
func TestLoadtestEcho(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	k, err := core.New(core.Options{Node: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = k.Stop(context.Background()) }()
	if _, err := gate.StartEcho(ctx, k); err != nil {
		t.Fatal(err)
	}
	g, err := gate.New(gate.Options{Addr: "127.0.0.1:0", Service: gate.EchoService, Auth: gate.NameAuth, Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx, k) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	cases := []struct {
		ws, unthrottled bool
		min             int // replies at least
	}{{false, false, 1}, {true, false, 1}, {false, true, 60}} // 4 clients at 20 msg/s for 500ms: at most 48 throttled
	for _, tc := range cases {
		ws := tc.ws
		args := []string{"loadtest", "--gate", g.Addr().String(), "--clients", "4", "--rate", "20", "--duration", "500ms", "--mode", "echo"}
		if ws {
			args = append(args, "--ws")
		}
		if tc.unthrottled {
			args = append(args, "--unthrottled", "--warmup", "100ms")
		}
		var out, errb bytes.Buffer
		if code := run(ctx, args, func(string) string { return "" }, &out, &errb); code != 0 {
			t.Fatalf("exit %d; stderr %q", code, errb.String())
		}
		m := regexp.MustCompile(`messages/s\s+\d+ \((\d+) replies`).FindStringSubmatch(out.String())
		if m == nil {
			t.Fatalf("no messages/s line in:\n%s", out.String())
		}
		if n, _ := strconv.Atoi(m[1]); n < tc.min || !strings.Contains(out.String(), "errors             0 calls") {
			t.Fatalf("%+v: want at least %d replies and no errors:\n%s", tc, tc.min, out.String())
		}
	}
}
