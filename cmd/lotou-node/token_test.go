package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/node"
)

// TestTokenSources: the token read from the environment and from a file
// is the same token: surrounding whitespace (the newline a file or a
// Secret created from a file ends with) is not part of it, and a token of
// whitespace alone is no token. Before, an environment token kept its
// newline, so a node given LOTOU_CLUSTER_TOKEN could not talk to one given
// the same Secret as LOTOU_TOKEN_FILE, and a token of three spaces was
// accepted.
func TestTokenSources(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := strings.Repeat("k", 1<<20)
	tests := []struct {
		name      string
		env       map[string]string
		tokenFile string
		want      string // the token, or the error's text when wantErr
		wantErr   bool
	}{
		{"env", map[string]string{contract.EnvClusterToken: "tok"}, "", "tok", false},
		{"env with a trailing newline", map[string]string{contract.EnvClusterToken: "tok\n"}, "", "tok", false},
		{"env with surrounding blanks", map[string]string{contract.EnvClusterToken: " \ttok \r\n"}, "", "tok", false},
		{"env of spaces only", map[string]string{contract.EnvClusterToken: "   "}, "", "a cluster token is required", true},
		{"env of a newline only", map[string]string{contract.EnvClusterToken: "\n"}, "", "a cluster token is required", true},
		{"no token at all", nil, "", "a cluster token is required", true},
		{"file", nil, file("plain", "tok"), "tok", false},
		{"file with CRLF", nil, file("crlf", "tok\r\n"), "tok", false},
		{"file with inner blanks kept", nil, file("inner", " to k \n"), "to k", false},
		{"empty file", nil, file("empty", ""), "a cluster token is required", true},
		{"file of blanks", nil, file("blank", " \n\t\n"), "a cluster token is required", true},
		{"file wins over env", map[string]string{contract.EnvClusterToken: "env"}, file("wins", "file\n"), "file", false},
		{"file named by LOTOU_TOKEN_FILE", map[string]string{contract.EnvTokenFile: file("byenv", "viaenv\n")}, "", "viaenv", false},
		{"missing file", nil, filepath.Join(dir, "missing"), "reading token file", true},
		{"directory", nil, dir, "reading token file", true},
		{"1 MiB token", nil, file("long", long+"\n"), long, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"--role", contract.RoleMaster, "--name", "n"}
			if tt.tokenFile != "" {
				args = append(args, "--token-file", tt.tokenFile)
			}
			cfg, err := node.ParseConfig("lotou-node", args, envOf(tt.env), io.Discard)
			switch {
			case tt.wantErr && err == nil:
				t.Fatalf("accepted token %q", cfg.Options.Token)
			case tt.wantErr && !strings.Contains(err.Error(), tt.want):
				t.Fatalf("error %q lacks %q", err, tt.want)
			case !tt.wantErr && err != nil:
				t.Fatal(err)
			case !tt.wantErr && string(cfg.Options.Token) != tt.want:
				t.Fatalf("token %.40q, want %.40q", cfg.Options.Token, tt.want)
			}
		})
	}
}
