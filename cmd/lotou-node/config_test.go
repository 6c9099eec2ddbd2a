package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tok")
	if err := os.WriteFile(tokFile, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(cfg, []byte("role: slave\nname: from-yaml\nmaster: m:4000\nhttp: \":9999\"\nheartbeat-interval: 250ms\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(t *testing.T, role, name, http string, hb time.Duration, token string)
	}{
		{
			name: "file only",
			args: []string{"--config", cfg},
			env:  map[string]string{contract.EnvClusterToken: "tok"},
			check: func(t *testing.T, role, name, http string, hb time.Duration, token string) {
				if role != "slave" || name != "from-yaml" || http != ":9999" || hb != 250*time.Millisecond || token != "tok" {
					t.Fatalf("%s %s %s %v %s", role, name, http, hb, token)
				}
			},
		},
		{
			name: "env beats file, flag beats env",
			args: []string{"--name", "from-flag", "--token-file", tokFile},
			env:  map[string]string{contract.EnvConfig: cfg, contract.EnvNodeName: "from-env", contract.EnvHTTP: ":7000", contract.EnvClusterToken: "ignored"},
			check: func(t *testing.T, role, name, http string, _ time.Duration, token string) {
				if role != "slave" || name != "from-flag" || http != ":7000" || token != "from-file" {
					t.Fatalf("%s %s %s %s", role, name, http, token)
				}
			},
		},
		{
			name: "defaults",
			args: []string{"--name", "n"},
			check: func(t *testing.T, role, _, http string, hb time.Duration, _ string) {
				if role != contract.RoleStandalone || http != ":8080" || hb != contract.DefaultHeartbeatInterval {
					t.Fatalf("%s %s %v", role, http, hb)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, level, err := parseConfig(tt.args, envOf(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if level != "info" {
				t.Fatalf("level %q", level)
			}
			tt.check(t, o.Role, o.Name, o.HTTP, o.Heartbeat, string(o.Token))
		})
	}
}

func TestEncryptSetting(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want bool
	}{
		{"off by default", []string{"--name", "n"}, nil, false},
		{"env", []string{"--name", "n"}, map[string]string{contract.EnvEncrypt: "true"}, true},
		{"flag beats env", []string{"--name", "n", "--encrypt", "false"}, map[string]string{contract.EnvEncrypt: "true"}, false},
		{"config file", []string{"--name", "n", "--config", writeFile(t, "encrypt: \"true\"\n")}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, err := parseConfig(tt.args, envOf(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if o.Encrypt != tt.want {
				t.Fatalf("Encrypt = %v, want %v", o.Encrypt, tt.want)
			}
		})
	}
}

func TestRunBadConfigExits2(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"--bogus"}, nil, "flag provided but not defined"},
		{"bad role", []string{"--role", "boss", "--name", "n"}, nil, "role"},
		{"slave without master", []string{"--role", "slave", "--name", "n"}, map[string]string{contract.EnvClusterToken: "t"}, "master"},
		{"bad duration", []string{"--name", "n", "--heartbeat-interval", "soon"}, nil, "heartbeat-interval"},
		{"bad log level", []string{"--name", "n", "--log-level", "loud"}, nil, "log level"},
		{"bad encrypt", []string{"--name", "n", "--encrypt", "maybe"}, nil, "--encrypt"},
		{"extra args", []string{"--name", "n", "extra"}, nil, "unexpected"},
		{"unknown yaml key", []string{"--name", "n", "--config", writeFile(t, "bogus: 1\n")}, nil, "bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(context.Background(), tt.args, envOf(tt.env), &stderr); code != 2 {
				t.Fatalf("exit %d, want 2 (%s)", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Fatalf("stderr %q lacks %q", stderr.String(), tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
