package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// Handler returns the node's HTTP endpoints: contract.PathHealthz,
// PathReadyz, PathMetrics and PathCluster, and PathPprof with Options.Pprof.
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
		if n.opts.Draining != nil && n.opts.Draining() {
			http.Error(w, "not ready: the gate is draining", http.StatusServiceUnavailable)
			return
		}
		if err := n.clusterPortErr(); err != nil {
			http.Error(w, "not ready: the cluster port cannot accept: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	mux.Handle(contract.PathMetrics, promhttp.HandlerFor(n.gatherer(), promhttp.HandlerOpts{}))
	if n.opts.Pprof {
		mux.HandleFunc(contract.PathPprof, pprof.Index) // and the named profiles under it
		mux.HandleFunc(contract.PathPprof+"cmdline", pprof.Cmdline)
		mux.HandleFunc(contract.PathPprof+"profile", pprof.Profile)
		mux.HandleFunc(contract.PathPprof+"symbol", pprof.Symbol)
		mux.HandleFunc(contract.PathPprof+"trace", pprof.Trace)
	}
	mux.HandleFunc(contract.PathCluster, func(w http.ResponseWriter, r *http.Request) {
		body, err := n.views.get(r.Context(), n.renderView)
		if err != nil {
			if r.Context().Err() == nil { // else the client went away while another request rendered
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	return mux
}

// renderView is the /cluster document: this node's view with every gate's
// sessions, as indented JSON.
func (n *Node) renderView(ctx context.Context) ([]byte, error) {
	v := n.View()
	n.fillSessions(ctx, &v)
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the cluster view: %w", err)
	}
	return append(body, '\n'), nil
}

// gatherer is the node's registry plus Options.Collectors.
func (n *Node) gatherer() prometheus.Gatherer {
	if len(n.opts.Collectors) == 0 {
		return n.metrics.reg
	}
	extra := prometheus.NewRegistry()
	for _, c := range n.opts.Collectors {
		if err := extra.Register(c); err != nil {
			n.log.Error(err, "Metrics collector not registered")
		}
	}
	return prometheus.Gatherers{n.metrics.reg, extra}
}

// sessionsTimeout bounds the whole sessions query of one /cluster request.
const sessionsTimeout = 500 * time.Millisecond

// fillSessions asks the gate of every up node (its global
// contract.GateName service) for its connected clients, in parallel.
func (n *Node) fillSessions(ctx context.Context, v *contract.ClusterView) {
	k := n.Core()
	if k == nil {
		return
	}
	ids := make(map[string]uint64, len(v.Globals))
	for _, g := range v.Globals {
		ids[g.Name] = g.ID
	}
	ctx, cancel := context.WithTimeout(ctx, sessionsTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for i := range v.Nodes {
		name := contract.GateName(v.Nodes[i].Name)
		id, ok := ids[name]
		self := v.Nodes[i].Name == n.opts.Name && n.opts.Role == contract.RoleStandalone
		if (!ok && !self) || !v.Nodes[i].Up {
			continue
		}
		wg.Go(func() {
			if !ok { // a standalone node's names are local: no cluster wait
				sid, err := k.Lookup(ctx, name)
				if err != nil {
					return
				}
				id = uint64(sid)
			}
			ret, err := k.Call(ctx, core.ServiceID(id), "sessions")
			if err != nil || len(ret) != 1 {
				return
			}
			if s, ok := ret[0].(int); ok {
				v.Nodes[i].Sessions = s
			} else if s, ok := ret[0].(int64); ok {
				v.Nodes[i].Sessions = int(s)
			}
		})
	}
	wg.Wait()
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
		if err := srv.Serve(newConnCap(ln, httpMaxConns)); err != nil && !errors.Is(err, http.ErrServerClosed) {
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
