package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// fakeClock is a viewCache clock moved by the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestViewCacheAge: a rendered view serves later requests for viewMinAge,
// or viewCostFactor times its rendering time when that is longer.
func TestViewCacheAge(t *testing.T) {
	cases := []struct {
		name  string
		cost  time.Duration // the clock moves this much while rendering
		after time.Duration // then this much before the second request
		again bool          // whether the second request renders
	}{
		{"cheap, fresh", 0, viewMinAge - time.Millisecond, false},
		{"cheap, expired", 0, viewMinAge, true},
		{"costly, within its cost", time.Second, viewCostFactor*time.Second - time.Millisecond, false},
		{"costly, expired", time.Second, viewCostFactor * time.Second, true},
		{"cost below the minimum age", time.Millisecond, viewMinAge - time.Millisecond, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1e9, 0)}
			c := newViewCache()
			c.now = clk.now
			n := 0
			render := func(context.Context) ([]byte, error) {
				n++
				clk.add(tc.cost)
				return fmt.Appendf(nil, "view %d", n), nil
			}
			first, err := c.get(context.Background(), render)
			if err != nil || string(first) != "view 1" {
				t.Fatalf("first get = %q, %v", first, err)
			}
			clk.add(tc.after)
			second, err := c.get(context.Background(), render)
			if err != nil {
				t.Fatal(err)
			}
			want := "view 1"
			if tc.again {
				want = "view 2"
			}
			if string(second) != want || c.renders.Load() != int64(n) {
				t.Fatalf("second get = %q after %d renders, want %q", second, c.renders.Load(), want)
			}
		})
	}
}

// TestViewCacheErrorNotKept: a failed rendering goes to its request only;
// the next request renders again.
func TestViewCacheErrorNotKept(t *testing.T) {
	c := newViewCache()
	boom := errors.New("boom")
	if _, err := c.get(context.Background(), func(context.Context) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("get = %v, want boom", err)
	}
	got, err := c.get(context.Background(), func(context.Context) ([]byte, error) { return []byte("ok"), nil })
	if err != nil || string(got) != "ok" {
		t.Fatalf("get after a failure = %q, %v", got, err)
	}
}

// TestViewCacheWaiterLeaves: a request waiting for another's rendering
// returns when its context ends, and the rendering request's own departure
// does not cut the rendering short.
func TestViewCacheWaiterLeaves(t *testing.T) {
	c := newViewCache()
	rendering, release := make(chan struct{}), make(chan struct{})
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.get(rctx, func(ctx context.Context) ([]byte, error) {
			close(rendering)
			<-release
			return []byte("view"), ctx.Err()
		})
		done <- err
	}()
	<-rendering
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer wcancel()
	if _, err := c.get(wctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiter got %v, want its deadline", err)
	}
	rcancel() // the rendering request's client goes away
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("rendering saw %v: its context must not end with its request", err)
	}
	if got, err := c.get(context.Background(), nil); err != nil || string(got) != "view" {
		t.Fatalf("cached view = %q, %v", got, err)
	}
}

// TestClusterFloodRendersOnce: many concurrent /cluster requests get the
// same complete document from one or two renderings, not one each.
func TestClusterFloodRendersOnce(t *testing.T) {
	m := run(t, Options{Name: "m", Role: contract.RoleMaster})
	const requests = 64
	bodies := make([]string, requests)
	var wg sync.WaitGroup
	url := "http://" + m.n.HTTPAddr().String() + contract.PathCluster
	for i := range requests {
		wg.Go(func() {
			resp, err := http.Get(url) //nolint:noctx // the test's own loopback node
			if err != nil {
				t.Error(err)
				return
			}
			defer func() { _ = resp.Body.Close() }()
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("GET /cluster: %d %v", resp.StatusCode, err)
			}
			bodies[i] = string(b)
		})
	}
	wg.Wait()
	var v contract.ClusterView
	if err := json.Unmarshal([]byte(bodies[0]), &v); err != nil || v.Self != "m" || len(v.Nodes) != 1 {
		t.Fatalf("view %q: %v", bodies[0], err)
	}
	for i, b := range bodies {
		if b != bodies[0] {
			t.Fatalf("request %d got %q, request 0 %q", i, b, bodies[0])
		}
	}
	// All arrive within one viewMinAge on an idle machine; allow a few
	// renderings for a slow one, far below one per request.
	if r := m.n.views.renders.Load(); r > 4 {
		t.Fatalf("%d requests rendered the view %d times", requests, r)
	}
}
