package node

import (
	"net/http"
	"strings"
	"testing"

	"github.com/lotou-io/lotou/runtime/contract"
)

// TestPprof: Go's profiles are served only when asked for.
func TestPprof(t *testing.T) {
	off := run(t, Options{Name: "off"})
	on := run(t, Options{Name: "on", Pprof: true})
	cases := []struct {
		name string
		r    *running
		path string
		code int
		want string // in the body
	}{
		{"off: index", off, contract.PathPprof, http.StatusNotFound, ""},
		{"off: heap", off, contract.PathPprof + "heap", http.StatusNotFound, ""},
		{"off: cmdline", off, contract.PathPprof + "cmdline", http.StatusNotFound, ""},
		{"on: index", on, contract.PathPprof, http.StatusOK, "goroutine"},
		{"on: goroutines", on, contract.PathPprof + "goroutine?debug=1", http.StatusOK, "goroutine profile:"},
		{"on: heap", on, contract.PathPprof + "heap?debug=1", http.StatusOK, "heap profile:"},
		{"on: one-second CPU profile", on, contract.PathPprof + "profile?seconds=1", http.StatusOK, "\x1f\x8b"},
		{"on: cluster still served", on, contract.PathCluster, http.StatusOK, `"self": "on"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, tc.r, tc.path)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("GET %s = %d %.200q, want %d with %q", tc.path, code, body, tc.code, tc.want)
			}
		})
	}
}
