package node

import (
	"bytes"
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
			cfg, err := ParseConfig("lotou-node", tt.args, envOf(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.LogLevel != "info" {
				t.Fatalf("level %q", cfg.LogLevel)
			}
			o := cfg.Options
			tt.check(t, o.Role, o.Name, o.HTTP, o.Heartbeat, string(o.Token))
		})
	}
}

func TestParseConfigGate(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "node.yaml")
	if err := os.WriteFile(file, []byte("gate: \":7100\"\ndrain-timeout: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		gate    string
		auth    string
		drain   time.Duration
		wantErr string
	}{
		{name: "no gate by default", args: []string{"--name", "n"}, auth: GateAuthTicket, drain: contract.DefaultDrainTimeout},
		{name: "env", args: []string{"--name", "n"}, env: map[string]string{contract.EnvGate: ":7000", contract.EnvDrainTimeout: "90s", contract.EnvGateAuth: "name"},
			gate: ":7000", auth: GateAuthName, drain: 90 * time.Second},
		{name: "file", args: []string{"--name", "n", "--config", file}, gate: ":7100", auth: GateAuthTicket, drain: 5 * time.Second},
		{name: "flag beats env", args: []string{"--name", "n", "--gate", ":7200"}, env: map[string]string{contract.EnvGate: ":7000"},
			gate: ":7200", auth: GateAuthTicket, drain: contract.DefaultDrainTimeout},
		{name: "bad gate", args: []string{"--name", "n", "--gate", "7000"}, wantErr: "--gate"},
		{name: "bad auth", args: []string{"--name", "n", "--gate-auth", "none"}, wantErr: "--gate-auth"},
		{name: "bad drain", args: []string{"--name", "n", "--drain-timeout", "later"}, wantErr: "--drain-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig("lotou-node", tt.args, envOf(tt.env), &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Gate != tt.gate || cfg.GateAuth != tt.auth || cfg.DrainTimeout != tt.drain {
				t.Fatalf("gate %q auth %q drain %v", cfg.Gate, cfg.GateAuth, cfg.DrainTimeout)
			}
		})
	}
}

func TestEncryptSetting(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("encrypt: \"true\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want bool
	}{
		{"off by default", []string{"--name", "n"}, nil, false},
		{"env", []string{"--name", "n"}, map[string]string{contract.EnvEncrypt: "true"}, true},
		{"flag beats env", []string{"--name", "n", "--encrypt", "false"}, map[string]string{contract.EnvEncrypt: "true"}, false},
		{"config file", []string{"--name", "n", "--config", file}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ParseConfig("lotou-node", tt.args, envOf(tt.env), &bytes.Buffer{})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Options.Encrypt != tt.want {
				t.Fatalf("Encrypt = %v, want %v", cfg.Options.Encrypt, tt.want)
			}
		})
	}
}
