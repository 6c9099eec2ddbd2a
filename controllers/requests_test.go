package controllers

import (
	"net/http"
	"strings"
	"sync"
)

// requestLog records the write requests the manager sends to the API
// server, by namespace, so tests can assert that a settled cluster is left
// alone. Server-side apply that changes nothing does not bump
// resourceVersion, so only counting requests can see it.
type requestLog struct {
	mu     sync.Mutex
	writes map[string][]string // namespace -> "METHOD /path"
}

func newRequestLog() *requestLog { return &requestLog{writes: map[string][]string{}} }

// wrap is a rest.Config WrapTransport that records every request other
// than GET, LIST and WATCH, except Events (reporting, not reconciling).
func (l *requestLog) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet && !strings.Contains(req.URL.Path, "/events") {
			ns := namespaceOf(req.URL.Path)
			l.mu.Lock()
			l.writes[ns] = append(l.writes[ns], req.Method+" "+req.URL.Path)
			l.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// since returns the writes to namespace ns after the first n.
func (l *requestLog) since(ns string, n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.writes[ns]
	if n > len(w) {
		n = len(w)
	}
	return append([]string(nil), w[n:]...)
}

// count returns how many writes to namespace ns were recorded.
func (l *requestLog) count(ns string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.writes[ns])
}

// namespaceOf returns the namespace of an API path, "" for cluster-scoped paths.
func namespaceOf(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if p == "namespaces" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return ""
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
