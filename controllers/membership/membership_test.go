package membership

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/lotou-io/lotou/runtime/contract"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestHTTPReader(t *testing.T) {
	view := `{"self":"demo-master-0","role":"master","nodes":[{"id":1,"name":"demo-master-0","addr":"a:4000","role":"master","up":true}],"globals":[{"name":"echo:demo-master-0","id":7}]}`
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantErr   bool
		wantNodes int
		errIs     error
	}{
		{"ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(w, view) }, false, 1, nil},
		{"500", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }, true, 0, ErrUnexpectedStatus},
		{"garbage", func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprint(w, "{nodes") }, true, 0, nil},
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, true, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != contract.PathCluster {
					http.NotFound(w, r)
					return
				}
				tt.handler(w, r)
			}))
			defer srv.Close()
			rd := NewHTTPReader(200 * time.Millisecond)
			defer rd.CloseIdleConnections()
			v, err := rd.Read(context.Background(), srv.URL+contract.PathCluster)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.errIs != nil && !errors.Is(err, tt.errIs) {
				t.Errorf("err = %v, want %v", err, tt.errIs)
			}
			if err == nil && (len(v.Nodes) != tt.wantNodes || v.Globals[0].Name != "echo:demo-master-0") {
				t.Errorf("view = %+v", v)
			}
		})
	}
}

func TestHTTPReaderUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + contract.PathCluster
	srv.Close()
	rd := NewHTTPReader(time.Second)
	defer rd.CloseIdleConnections()
	_, err := rd.Read(context.Background(), url)
	if err == nil || !strings.Contains(err.Error(), "reading") {
		t.Fatalf("err = %v, want a read error", err)
	}
}

func ExampleStatic() {
	r := Static(func(url string) (*contract.ClusterView, error) {
		return &contract.ClusterView{Self: "demo-master-0", Role: contract.RoleMaster}, nil
	})
	v, _ := r.Read(context.Background(), "http://demo-master.default.svc:8080/cluster")
	fmt.Println(v.Self, v.Role)
	// Output: demo-master-0 master
}
