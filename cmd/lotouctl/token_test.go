package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lotou-io/lotou/runtime/contract"
)

// TestReadToken: lotouctl reads the token as lotou-node does (see
// cmd/lotou-node's TestTokenSources), so one Secret works for both.
func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, env string
		want            string // token, or error text when wantErr
		wantErr         bool
	}{
		{"env with a trailing newline", "", "tok\n", "tok", false},
		{"env of blanks", "", " \t ", "a cluster token is required", true},
		{"file with a trailing newline", file("nl", "tok\n"), "", "tok", false},
		{"file of blanks", file("blank", "\n \n"), "", "holds no token", true},
		{"empty file", file("empty", ""), "", "holds no token", true},
		{"file wins over env", file("wins", "file"), "env", "file", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := readToken(&globals{tokenFile: tt.file}, func(k string) string {
				if k == contract.EnvClusterToken {
					return tt.env
				}
				return ""
			})
			switch {
			case tt.wantErr && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("token %q, error %v; want an error with %q", tok, err, tt.want)
			case !tt.wantErr && (err != nil || string(tok) != tt.want):
				t.Fatalf("token %q, error %v; want %q", tok, err, tt.want)
			}
		})
	}
}
