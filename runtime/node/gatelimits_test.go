package node

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/gate"
	"github.com/lotou-io/lotou/runtime/gate/client"
	"github.com/lotou-io/lotou/test/nodebin"
)

// TestParseGateLimits: every gate limit from a flag or its environment
// variable, what is not set stays zero, and a bad value is refused naming
// its flag.
func TestParseGateLimits(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		env     map[string]string
		want    GateLimits
		wantErr string
	}{
		{name: "none set", want: GateLimits{}},
		{name: "all flags", args: []string{"--gate-max-message", "4096", "--gate-rate", "12.5", "--gate-burst", "7",
			"--gate-idle-timeout", "90s", "--gate-max-conns", "3", "--gate-queue", "16"},
			want: GateLimits{MaxMessage: 4096, Rate: 12.5, Burst: 7, IdleTimeout: 90 * time.Second, MaxConns: 3, Queue: 16}},
		{name: "environment", env: map[string]string{contract.EnvGateMaxMessage: "100", contract.EnvGateRate: "off",
			contract.EnvGateIdleTimeout: "1m", contract.EnvGateMaxConns: "5", contract.EnvGateQueue: "1", contract.EnvGateBurst: "1"},
			want: GateLimits{MaxMessage: 100, Rate: -1, Burst: 1, IdleTimeout: time.Minute, MaxConns: 5, Queue: 1}},
		{name: "YAML's off", args: []string{"--gate-rate", "false"}, want: GateLimits{Rate: -1}},
		{name: "flag beats environment", args: []string{"--gate-max-conns", "9"}, env: map[string]string{contract.EnvGateMaxConns: "5"},
			want: GateLimits{MaxConns: 9}},
		{name: "message too small", args: []string{"--gate-max-message", "63"}, wantErr: "--gate-max-message"},
		{name: "message above the gate's bound", args: []string{"--gate-max-message", "16777217"}, wantErr: "--gate-max-message"},
		{name: "message not a number", args: []string{"--gate-max-message", "64KiB"}, wantErr: "--gate-max-message"},
		{name: "zero rate", args: []string{"--gate-rate", "0"}, wantErr: "--gate-rate"},
		{name: "negative rate", args: []string{"--gate-rate", "-5"}, wantErr: "--gate-rate"},
		{name: "NaN rate", args: []string{"--gate-rate", "NaN"}, wantErr: "--gate-rate"},
		{name: "infinite rate", args: []string{"--gate-rate", "+Inf"}, wantErr: "--gate-rate"},
		{name: "zero burst", env: map[string]string{contract.EnvGateBurst: "0"}, wantErr: "--gate-burst"},
		{name: "negative conns", args: []string{"--gate-max-conns", "-1"}, wantErr: "--gate-max-conns"},
		{name: "huge conns", args: []string{"--gate-max-conns", "99999999999999999999"}, wantErr: "--gate-max-conns"},
		{name: "queue zero", args: []string{"--gate-queue", "0"}, wantErr: "--gate-queue"},
		{name: "idle timeout without a unit", args: []string{"--gate-idle-timeout", "60"}, wantErr: "--gate-idle-timeout"},
		{name: "negative idle timeout", args: []string{"--gate-idle-timeout", "-1s"}, wantErr: "--gate-idle-timeout"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig("lotou-node", append([]string{"--name", "n"}, tc.args...), envOf(tc.env), &bytes.Buffer{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.GateLimits != tc.want {
				t.Fatalf("limits %+v, want %+v", cfg.GateLimits, tc.want)
			}
		})
	}
}

// TestGateLimitsOverrideProgram: a limit set in the configuration replaces
// the program's gate.Options value; one not set leaves it.
func TestGateLimitsOverrideProgram(t *testing.T) {
	o := gate.Options{MaxMessage: 1000, Rate: 5, Burst: 10, IdleTimeout: time.Second, MaxConns: 2, QueueSize: 3}
	GateLimits{Rate: -1, MaxConns: 40}.apply(&o)
	want := gate.Options{MaxMessage: 1000, Rate: -1, Burst: 10, IdleTimeout: time.Second, MaxConns: 40, QueueSize: 3}
	if o.MaxMessage != want.MaxMessage || o.Rate != want.Rate || o.Burst != want.Burst || o.IdleTimeout != want.IdleTimeout ||
		o.MaxConns != want.MaxConns || o.QueueSize != want.QueueSize {
		t.Fatalf("options %+v, want %+v", o, want)
	}
}

// TestMainGateLimits: limits given to a node's main reach its gate: a
// second client over --gate-max-conns is refused as full, a message over
// --gate-max-message closes its client as too large.
func TestMainGateLimits(t *testing.T) {
	var out nodebin.Output
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- MainArgs(ctx, []string{"--name", "solo", "--http", "-", "--gate", "127.0.0.1:0", "--gate-auth", "name",
			"--gate-max-conns", "1", "--drain-timeout", "1s"},
			envOf(map[string]string{contract.EnvGateMaxMessage: "100"}), &out, App{})
	}()
	defer func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("exit %d:\n%s", code, out.String())
		}
	}()
	gateAddr := waitLog(t, &out, `"Gate listening" addr="([^"]+)"`)
	waitLog(t, &out, `("Node running")`)
	cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer ccancel()
	c, err := client.Dial(cctx, gateAddr, client.Options{Credentials: []byte("ann")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if got, err := c.Call(cctx, "echo", []byte("hi")); err != nil || string(got) != "hi" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	var ge *client.Error
	if _, err := client.Dial(cctx, gateAddr, client.Options{Credentials: []byte("bob")}); !errors.As(err, &ge) || ge.Code != gate.CodeFull {
		t.Fatalf("second client = %v, want %q (--gate-max-conns 1)", err, gate.CodeFull)
	}
	if _, err := c.Call(cctx, "echo", bytes.Repeat([]byte("x"), 200)); err == nil {
		t.Fatal("a 200-byte message passed a 100-byte limit")
	}
	select {
	case <-c.Done():
	case <-cctx.Done():
		t.Fatal("client not closed after an oversized message")
	}
	if !errors.As(c.Err(), &ge) || ge.Code != gate.CodeTooLarge {
		t.Fatalf("closed with %v, want %q", c.Err(), gate.CodeTooLarge)
	}
}
