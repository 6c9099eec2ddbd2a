package main

import (
	"bytes"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(*config) bool
	}{
		{"defaults", nil, false, func(c *config) bool {
			return !c.leaderElect && c.metricsAddr == ":8443" && c.metricsSecure && !c.enableHTTP2 && c.watchNamespaces == nil && c.readMembership && c.maxConcurrentReconciles == 4 && c.qps == 50 && c.burst == 100 && c.probeAddr == ":8081"
		}},
		{"tuned", []string{"--leader-elect", "--max-concurrent-reconciles=16", "--kube-api-qps=200", "--kube-api-burst=400", "--membership-timeout=1s"}, false, func(c *config) bool {
			return c.leaderElect && c.maxConcurrentReconciles == 16 && c.qps == 200 && c.burst == 400 && c.membershipTimeout == time.Second
		}},
		{"metrics off", []string{"--metrics-bind-address=0"}, false, func(c *config) bool { return c.metricsAddr == "0" }},
		{"metrics plain http", []string{"--metrics-secure=false", "--metrics-bind-address=:8080"}, false, func(c *config) bool {
			return !c.metricsSecure && c.metricsAddr == ":8080"
		}},
		{"one namespace", []string{"--watch-namespace=games"}, false, func(c *config) bool {
			return len(c.watchNamespaces) == 1 && c.watchNamespaces[0] == "games"
		}},
		{"namespace list", []string{"--watch-namespace=games, lobby,"}, false, func(c *config) bool {
			return strings.Join(c.watchNamespaces, "|") == "games|lobby"
		}},
		{"bad namespace", []string{"--watch-namespace=Games_1"}, true, nil},
		{"membership off", []string{"--read-membership=false"}, false, func(c *config) bool { return !c.readMembership }},
		{"kubeconfig", []string{"--kubeconfig=/tmp/kc"}, false, func(c *config) bool { return c.kubeconfig == "/tmp/kc" }},
		{"kubeconfig unset", nil, false, func(c *config) bool { return c.kubeconfig == "" }},
		{"zero concurrency", []string{"--max-concurrent-reconciles=0"}, true, nil},
		{"negative qps", []string{"--kube-api-qps=-1"}, true, nil},
		{"unknown flag", []string{"--nope"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("manager", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err := parseFlags(fs, tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && !tt.check(c) {
				t.Errorf("unexpected config %+v", c)
			}
		})
	}
}

func TestKubeconfigFlagIsDocumented(t *testing.T) {
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	var help bytes.Buffer
	fs.SetOutput(&help)
	if _, err := parseFlags(fs, []string{"--help"}); err == nil {
		t.Fatal("--help must stop parsing")
	}
	for _, want := range []string{"-kubeconfig", "$KUBECONFIG", "in-cluster"} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, help.String())
		}
	}
}

// writeKubeconfig writes a kubeconfig pointing at server and returns its path.
func writeKubeconfig(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: %q}
users:
- name: u
  user: {token: not-a-real-token}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
`, server)
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRestConfig(t *testing.T) {
	flagFile := writeKubeconfig(t, "https://127.0.0.1:6441")
	envFile := writeKubeconfig(t, "https://127.0.0.1:6442")
	tests := []struct {
		name     string
		flag     string
		env      string
		wantHost string
		wantErr  bool
	}{
		{"flag wins over $KUBECONFIG", flagFile, envFile, "https://127.0.0.1:6441", false},
		{"$KUBECONFIG when no flag", "", envFile, "https://127.0.0.1:6442", false},
		{"missing file", filepath.Join(t.TempDir(), "absent"), envFile, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.env)
			cfg, err := restConfig(tt.flag)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && cfg.Host != tt.wantHost {
				t.Errorf("host = %q, want %q", cfg.Host, tt.wantHost)
			}
		})
	}
}

func TestMetricsOptions(t *testing.T) {
	restCfg := &rest.Config{Host: "https://127.0.0.1:6443"}
	tests := []struct {
		name       string
		args       []string
		wantSecure bool
		wantFilter bool
		wantH2     bool
	}{
		{"default: HTTPS with authn/authz", nil, true, true, false},
		{"plain HTTP, no filter", []string{"--metrics-secure=false"}, false, false, false},
		{"disabled", []string{"--metrics-bind-address=0"}, true, false, false},
		{"http2 allowed", []string{"--enable-http2"}, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("manager", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			c, err := parseFlags(fs, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			opts, err := metricsOptions(c, restCfg)
			if err != nil {
				t.Fatal(err)
			}
			if opts.SecureServing != tt.wantSecure {
				t.Errorf("SecureServing = %v", opts.SecureServing)
			}
			if got := opts.FilterProvider != nil; got != tt.wantFilter {
				t.Errorf("authn/authz filter = %v, want %v", got, tt.wantFilter)
			}
			tlsCfg := &tls.Config{NextProtos: []string{"h2", "http/1.1"}}
			for _, o := range opts.TLSOpts {
				o(tlsCfg)
			}
			if got := slices.Contains(tlsCfg.NextProtos, "h2"); got != tt.wantH2 {
				t.Errorf("h2 offered = %v, want %v", got, tt.wantH2)
			}
		})
	}
}
