package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lotou-io/lotou/runtime/contract"
)

// Handler returns the node's HTTP endpoints: contract.PathHealthz,
// PathReadyz, PathMetrics and PathCluster.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(contract.PathHealthz, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc(contract.PathReadyz, func(w http.ResponseWriter, _ *http.Request) {
		if !n.Ready() {
			http.Error(w, "not ready: not registered with the master", http.StatusServiceUnavailable)
			return
		}
		if err := n.clusterPortErr(); err != nil {
			http.Error(w, "not ready: the cluster port cannot accept: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle(contract.PathMetrics, promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc(contract.PathCluster, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(n.View())
	})
	return mux
}

// Limits of the HTTP server: probes and scrapes are small and quick, so
// slow or idle clients are cut off early (see docs/security.md).
const (
	httpReadHeaderTimeout = 5 * time.Second
	httpReadTimeout       = 10 * time.Second
	httpWriteTimeout      = 30 * time.Second
	httpIdleTimeout       = 15 * time.Second
	httpMaxHeaderBytes    = 16 << 10
)

// clusterPortErr reports why the cluster listener cannot serve, nil if it
// can (or the node has none).
func (n *Node) clusterPortErr() error {
	if n.cl == nil {
		return nil
	}
	return n.cl.Transport().ListenErr()
}

func (n *Node) startHTTP(wg *sync.WaitGroup) (*http.Server, error) {
	ln, err := net.Listen("tcp", n.opts.HTTP)
	if err != nil {
		return nil, fmt.Errorf("listening for HTTP on %s: %w", n.opts.HTTP, err)
	}
	n.mu.Lock()
	n.httpAddr = ln.Addr()
	n.mu.Unlock()
	srv := &http.Server{
		Handler: n.Handler(), ReadHeaderTimeout: httpReadHeaderTimeout, ReadTimeout: httpReadTimeout,
		WriteTimeout: httpWriteTimeout, IdleTimeout: httpIdleTimeout, MaxHeaderBytes: httpMaxHeaderBytes,
	}
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error(err, "HTTP server stopped")
		}
	})
	n.log.Info("Serving HTTP", "addr", ln.Addr().String())
	return srv, nil
}

func (n *Node) stopHTTP(srv *http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		n.log.Error(err, "Stopping HTTP server")
	}
}
