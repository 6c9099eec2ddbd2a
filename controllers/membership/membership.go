package membership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// Reader reads the /cluster view served at url. Implementations must return
// promptly: the operator calls Read inside a reconcile.
type Reader interface {
	Read(ctx context.Context, url string) (*contract.ClusterView, error)
}

// DefaultTimeout bounds one read of /cluster so an unreachable master
// cannot stall a reconcile worker.
const DefaultTimeout = 2 * time.Second

// MaxBodyBytes caps the size of a /cluster document; a 1000-node view with
// globals is well below it.
const MaxBodyBytes = 4 << 20

// ErrUnexpectedStatus is returned when /cluster answers with a status other than 200.
var ErrUnexpectedStatus = errors.New("unexpected HTTP status")

// HTTPReader is the Reader used in production: a plain GET with a short timeout.
type HTTPReader struct {
	client  *http.Client
	timeout time.Duration
}

// NewHTTPReader returns an HTTPReader whose reads give up after timeout
// (DefaultTimeout when timeout <= 0).
func NewHTTPReader(timeout time.Duration) *HTTPReader {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1
	tr.IdleConnTimeout = 30 * time.Second
	return &HTTPReader{client: &http.Client{Transport: tr, Timeout: timeout}, timeout: timeout}
}

// Read fetches and decodes the /cluster document at url.
func (h *HTTPReader) Read(ctx context.Context, url string) (*contract.ClusterView, error) {
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", url, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxBodyBytes))
		return nil, fmt.Errorf("reading %s: %w %d", url, ErrUnexpectedStatus, resp.StatusCode)
	}
	var view contract.ClusterView
	if err := json.NewDecoder(io.LimitReader(resp.Body, MaxBodyBytes)).Decode(&view); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", url, err)
	}
	return &view, nil
}

// CloseIdleConnections releases the reader's idle keep-alive connections.
func (h *HTTPReader) CloseIdleConnections() { h.client.CloseIdleConnections() }

// Static is a Reader that answers every read from a function; tests use it
// to play a master that is reachable, unreachable or changing.
type Static func(url string) (*contract.ClusterView, error)

// Read calls the function.
func (s Static) Read(_ context.Context, url string) (*contract.ClusterView, error) { return s(url) }
