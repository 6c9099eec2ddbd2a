package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lotou-io/lotou/runtime/contract"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

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
