package node

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// TestReadyFollowsClusterPort: a master that cannot accept on its cluster
// port is not ready, even though it is otherwise serving.
func TestReadyFollowsClusterPort(t *testing.T) {
	m := run(t, Options{Name: "m", Role: contract.RoleMaster})
	if code, body := get(t, m, contract.PathReadyz); code != 200 {
		t.Fatalf("readyz %d %s", code, body)
	}
	_ = m.n.cl.Transport().Close() // the listener goes, the node runs on
	deadline := time.Now().Add(2 * time.Second)
	for {
		code, body := get(t, m, contract.PathReadyz)
		if code == 503 && strings.Contains(body, "cluster port") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz %d %s after the cluster listener closed", code, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHTTPServerLimits: a request header larger than httpMaxHeaderBytes is
// refused (net/http's default would take up to 1 MiB). The timeouts are
// exercised from outside by test/attack.
func TestHTTPServerLimits(t *testing.T) {
	m := run(t, Options{Name: "m", Role: contract.RoleMaster})
	nc, err := net.Dial("tcp", m.n.HTTPAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	big := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 2*httpMaxHeaderBytes) + "\r\n\r\n"
	if _, err := nc.Write([]byte(big)); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	n, _ := nc.Read(b)
	if !strings.Contains(string(b[:n]), "431") {
		t.Fatalf("oversized header answered %q, want 431", b[:n])
	}
}
