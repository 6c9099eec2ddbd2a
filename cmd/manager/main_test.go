package main

import (
	"flag"
	"io"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		check   func(*config) bool
	}{
		{"defaults", nil, false, func(c *config) bool {
			return !c.leaderElect && c.metricsAddr == ":8080" && c.readMembership && c.maxConcurrentReconciles == 4 && c.qps == 50 && c.burst == 100 && c.probeAddr == ":8081"
		}},
		{"tuned", []string{"--leader-elect", "--max-concurrent-reconciles=16", "--kube-api-qps=200", "--kube-api-burst=400", "--membership-timeout=1s"}, false, func(c *config) bool {
			return c.leaderElect && c.maxConcurrentReconciles == 16 && c.qps == 200 && c.burst == 400 && c.membershipTimeout == time.Second
		}},
		{"metrics off", []string{"--metrics-bind-address=0"}, false, func(c *config) bool { return c.metricsAddr == "0" }},
		{"membership off", []string{"--read-membership=false"}, false, func(c *config) bool { return !c.readMembership }},
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
