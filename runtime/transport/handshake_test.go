package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

func TestHelloRoundTrip(t *testing.T) {
	tests := []hello{
		{Version: 1, ID: 0, Name: ""},
		{Version: 1, ID: 65535, Name: "slave-1"},
		{Version: 300, ID: 7, Name: string(make([]byte, MaxNameLen))},
	}
	for _, h := range tests {
		h.Nonce[3] = 9
		got, err := decodeHello(appendHello(nil, h))
		if err != nil {
			t.Fatal(err)
		}
		if got != h {
			t.Fatalf("got %+v want %+v", got, h)
		}
	}
}

func TestDecodeHelloErrors(t *testing.T) {
	good := appendHello(nil, hello{Version: 1, Name: "n"})
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"wrong type", append([]byte{2}, good[1:]...)},
		{"wrong magic", append([]byte{1, 'X'}, good[2:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(good, 0)},
		{"name too long", appendHello(nil, hello{Version: 1, Name: string(make([]byte, MaxNameLen+1))})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeHello(tt.b); !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestProofIsDirectional(t *testing.T) {
	a, b := []byte("hello-a"), []byte("hello-b")
	if string(proof([]byte("k"), a, b)) == string(proof([]byte("k"), b, a)) {
		t.Fatal("a reflected proof would verify")
	}
	if string(proof([]byte("k"), a, b)) == string(proof([]byte("j"), a, b)) {
		t.Fatal("proof does not depend on the token")
	}
}

// FuzzDecodeHello checks the hello decoder never panics and round-trips what
// it accepts.
func FuzzDecodeHello(f *testing.F) {
	f.Add(appendHello(nil, hello{Version: 1, ID: 3, Name: "node-a"}))
	f.Add([]byte{1, 'L', 'O', 'T', 'O', 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHello(b)
		if err != nil {
			return
		}
		again, err := decodeHello(appendHello(nil, h))
		if err != nil || again != h {
			t.Fatalf("re-decode: %+v %v", again, err)
		}
		_ = decodeVerdict(b)
	})
}

// FuzzHandshakeServer feeds arbitrary bytes to the server side of the
// handshake: it must fail cleanly, never panic and never accept.
func FuzzHandshakeServer(f *testing.F) {
	f.Add(AppendFrame(nil, appendHello(nil, hello{Version: 1, Name: "x"})))
	f.Add(AppendFrame(AppendFrame(nil, appendHello(nil, hello{Version: 1})), append([]byte{hsProof}, make([]byte, 32)...)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, b := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = b.Write(in)
			buf := make([]byte, 1024)
			for {
				if _, err := b.Read(buf); err != nil {
					return
				}
			}
		}()
		_, err := handshake(a, Identity{Name: "srv"}, []byte("tok"), 50*time.Millisecond)
		_ = a.Close()
		_ = b.Close()
		<-done
		if err == nil {
			t.Fatal("accepted a peer without the token")
		}
	})
}

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	writeTestCerts(t, dir)
	cfg, err := LoadTLS(filepath.Join(dir, "node.pem"), filepath.Join(dir, "node.key"), filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	srvH := &recorder{}
	srv, err := New(Options{Self: Identity{Name: "srv"}, Token: []byte("t"), Handler: srvH, TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cli, err := New(Options{Self: Identity{Name: "cli"}, Token: []byte("t"), Handler: &recorder{}, TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	addr := listen(t, srv)
	if err := cli.Peer(addr).Send([]byte("secret")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "frame over TLS", 5*time.Second, func() bool { return srvH.count() == 1 })

	// A plain-TCP client is refused by the TLS server.
	var log logBuf
	srv.log = log.logger()
	plain, _ := New(Options{Self: Identity{Name: "plain"}, Token: []byte("t"), Handler: &recorder{}, Log: logr.Discard()})
	defer plain.Close()
	_ = plain.Peer(addr).Send([]byte("x"))
	eventually(t, "TLS rejection", 5*time.Second, func() bool { return srvH.count() == 1 && len(log.String()) > 0 })
	if _, err := LoadTLS("", "", ""); err == nil {
		t.Fatal("LoadTLS without files succeeded")
	}
}

func writeTestCerts(t *testing.T, dir string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test-ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		KeyUsage:    x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.pem", "CERTIFICATE", caDER)
	write("node.pem", "CERTIFICATE", der)
	write("node.key", "EC PRIVATE KEY", keyDER)
}
