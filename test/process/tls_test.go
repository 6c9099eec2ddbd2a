package process

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
)

// tlsFiles are the PEM files of a test CA and one loopback node certificate
// (server and client use) signed by it.
type tlsFiles struct{ ca, cert, key string }

func (f tlsFiles) args() []string {
	return []string{"--tls-cert", f.cert, "--tls-key", f.key, "--tls-ca", f.ca}
}

// writeCerts makes a CA and a node certificate for 127.0.0.1 in dir.
func writeCerts(t *testing.T, dir, prefix string) tlsFiles {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: prefix + "-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	must(err)
	ca, err := x509.ParseCertificate(caDER)
	must(err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: prefix + "-node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	must(err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	must(err)
	f := tlsFiles{ca: filepath.Join(dir, prefix+"-ca.pem"), cert: filepath.Join(dir, prefix+"-node.pem"), key: filepath.Join(dir, prefix+"-node.key")}
	must(os.WriteFile(f.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600))
	must(os.WriteFile(f.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	must(os.WriteFile(f.key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return f
}

// TestClusterOverTLS runs a master and two slaves with mutual TLS: the
// cluster forms, lotouctl calls across it over TLS, and nodes without TLS or
// with a certificate from another CA are refused.
func TestClusterOverTLS(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	good := writeCerts(t, dir, "good")
	other := writeCerts(t, dir, "other")

	m := e.node(contract.RoleMaster, "m", "", e.token, good.args()...)
	eventually(t, "master ready", 10*time.Second, func() bool { c, _ := httpGet(m.http, contract.PathReadyz); return c == 200 })
	a := e.node(contract.RoleSlave, "a", m.addr, e.token, good.args()...)
	b := e.node(contract.RoleSlave, "b", m.addr, e.token, good.args()...)
	all := func(v contract.ClusterView) bool {
		up, g := upNames(v), globals(v)
		return len(up) == 3 && g["echo:m"] && g["echo:a"] && g["echo:b"]
	}
	eventually(t, "3 nodes over TLS", 10*time.Second, func() bool { return all(view(m)) && all(view(a)) && all(view(b)) })

	t.Run("call across slaves over TLS", func(t *testing.T) {
		args := append(append([]string{"--master", m.addr}, good.args()...), "call", "echo:a", "relay", `"echo:b"`, `"echo"`, "7")
		out, errOut, err := e.ctl(args...)
		if err != nil {
			t.Fatalf("%v: %s", err, errOut)
		}
		if strings.TrimSpace(out) != "[7]" {
			t.Fatalf("reply %q", out)
		}
	})

	t.Run("lotouctl without TLS is refused", func(t *testing.T) {
		_, errOut, err := e.ctl("--master", m.addr, "--timeout", "1s", "status")
		if err == nil {
			t.Fatal("plain lotouctl joined a TLS cluster")
		}
		t.Logf("plain lotouctl: %s", strings.TrimSpace(errOut))
	})

	t.Run("nodes without TLS or with a foreign CA are refused", func(t *testing.T) {
		plain := e.node(contract.RoleSlave, "plain", m.addr, e.token)
		foreign := e.node(contract.RoleSlave, "foreign", m.addr, e.token, other.args()...)
		eventually(t, "both rejections in master log", 10*time.Second, func() bool {
			return logLine(m, "TLS handshake failed", "does not look like a TLS handshake") != "" &&
				logLine(m, "TLS handshake failed", "certificate") != ""
		})
		if line := logLine(m, "Rejected peer", "certificate"); !strings.Contains(line, "127.0.0.1:") {
			t.Fatalf("rejection logged without the peer address: %s", line)
		} else {
			t.Logf("master: %s", strings.TrimSpace(line))
		}
		for _, p := range []*proc{plain, foreign} {
			if c, _ := httpGet(p.http, contract.PathReadyz); c == 200 {
				t.Fatalf("%s ready", p.name)
			}
		}
		if up := upNames(view(m)); len(up) != 3 || up["plain"] || up["foreign"] {
			t.Fatalf("master members: %v", up)
		}
	})
}
