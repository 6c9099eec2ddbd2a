package transport

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// The identity message plaintext is pinned by golden bytes (see doc.go).
func TestIdentityGolden(t *testing.T) {
	tests := []struct {
		name    string
		id      Identity
		encrypt bool
		want    string
	}{
		{"empty", Identity{}, false, "0000 00 00 00"},
		{"named", Identity{ID: 0x0102, Name: "ab"}, true, "0201 02 6162 01 00"},
		{"payload", Identity{ID: 7, Name: "n", App: []byte{0xde, 0xad}}, false, "0700 01 6e 00 02 dead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hex.EncodeToString(appendIdentity(nil, tt.id, tt.encrypt))
			if want := strings.ReplaceAll(tt.want, " ", ""); got != want {
				t.Fatalf("bytes = %s, want %s", got, want)
			}
			id, enc, err := decodeIdentity(appendIdentity(nil, tt.id, tt.encrypt))
			if err != nil || id.ID != tt.id.ID || id.Name != tt.id.Name || !bytes.Equal(id.App, tt.id.App) || enc != tt.encrypt {
				t.Fatalf("round trip = %+v %v %v", id, enc, err)
			}
		})
	}
	if got := hex.EncodeToString(initHeader(ProtocolVersion)); got != "014c4f544e03" {
		t.Fatalf("init header = %s", got)
	}
}

func TestDecodeIdentityErrors(t *testing.T) {
	good := appendIdentity(nil, Identity{ID: 1, Name: "n", App: []byte("x")}, false)
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"truncated", good[:len(good)-1]},
		{"trailing", append(bytes.Clone(good), 0)},
		{"no flags", good[:4]},
		{"name too long", appendIdentity(nil, Identity{Name: string(make([]byte, MaxNameLen+1))}, false)},
		{"payload too long", appendIdentity(nil, Identity{App: make([]byte, MaxAppPayload+1)}, false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := decodeIdentity(tt.b); !errors.Is(err, ErrBadHandshake) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func hsConfig(name, token string, guard *ephemerals) handshakeConfig {
	return handshakeConfig{psk: derivePSK([]byte(token)), self: Identity{Name: name}, timeout: time.Second, guard: guard}
}

type hsResult struct {
	s   session
	err error
}

// runBoth runs a dialler and a listener against each other over a pipe.
func runBoth(dial, accept handshakeConfig) (d, a hsResult) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	done := make(chan hsResult, 1)
	go func() {
		s, err := acceptHandshake(c2, accept)
		if err != nil {
			_ = c2.Close()
		}
		done <- hsResult{s, err}
	}()
	s, err := dialHandshake(c1, dial)
	if err != nil {
		_ = c1.Close()
	}
	return hsResult{s, err}, <-done
}

func TestHandshake(t *testing.T) {
	tests := []struct {
		name                  string
		dialTok, acceptTok    string
		dialEnc, acceptEnc    bool
		wantDialErr, wantAccE error
		wantEnc               bool
	}{
		{name: "same token", dialTok: "tok", acceptTok: "tok"},
		{name: "dialler asks encryption", dialTok: "tok", acceptTok: "tok", dialEnc: true, wantEnc: true},
		{name: "listener asks encryption", dialTok: "tok", acceptTok: "tok", acceptEnc: true, wantEnc: true},
		{name: "wrong token", dialTok: "bad", acceptTok: "tok", wantDialErr: ErrRejected, wantAccE: ErrAuth},
		{name: "empty versus set token", dialTok: "", acceptTok: "tok", wantDialErr: ErrRejected, wantAccE: ErrAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dc, ac := hsConfig("dialler", tt.dialTok, newEphemerals()), hsConfig("listener", tt.acceptTok, newEphemerals())
			dc.encrypt, ac.encrypt = tt.dialEnc, tt.acceptEnc
			dc.self.App = []byte("incarnation-1")
			ac.self.ID = 9
			d, a := runBoth(dc, ac)
			if tt.wantDialErr != nil {
				if !errors.Is(d.err, tt.wantDialErr) || !errors.Is(a.err, tt.wantAccE) {
					t.Fatalf("dialler err %v, listener err %v", d.err, a.err)
				}
				return
			}
			if d.err != nil || a.err != nil {
				t.Fatalf("dialler err %v, listener err %v", d.err, a.err)
			}
			if d.s.peer.Name != "listener" || d.s.peer.ID != 9 || a.s.peer.Name != "dialler" || string(a.s.peer.App) != "incarnation-1" {
				t.Fatalf("identities: dialler saw %+v, listener saw %+v", d.s.peer, a.s.peer)
			}
			if d.s.encrypt != tt.wantEnc || a.s.encrypt != tt.wantEnc {
				t.Fatalf("encrypt = %v/%v, want %v", d.s.encrypt, a.s.encrypt, tt.wantEnc)
			}
			// The session keys match: what one side seals the other opens.
			ct, _ := d.s.send.Encrypt(nil, nil, []byte("x"))
			if pt, err := a.s.recv.Decrypt(nil, nil, ct); err != nil || string(pt) != "x" {
				t.Fatalf("session keys differ: %v", err)
			}
		})
	}
}

// recordDialler captures the first message of a real dialler.
func recordDialler(t *testing.T, cfg handshakeConfig) []byte {
	t.Helper()
	c1, c2 := net.Pipe()
	defer c1.Close()
	go func() { _, _ = dialHandshake(c1, cfg) }()
	msg1, err := readFrame(c2)
	if err != nil {
		t.Fatal(err)
	}
	_ = c2.Close()
	return msg1
}

// attack plays the given frames to a listener and returns its error and
// what it sent back.
func attack(cfg handshakeConfig, frames ...[]byte) ([][]byte, error) {
	c1, c2 := net.Pipe()
	defer c1.Close()
	var got [][]byte
	read := make(chan struct{})
	go func() {
		defer close(read)
		for {
			f, err := readFrame(c1)
			if err != nil {
				return
			}
			got = append(got, f)
		}
	}()
	go func() {
		for _, f := range frames {
			if writeFrame(c1, f) != nil {
				return
			}
		}
	}()
	_, err := acceptHandshake(c2, cfg)
	_ = c2.Close()
	<-read
	return got, err
}

func TestReplayRefused(t *testing.T) {
	guard := newEphemerals()
	srv := hsConfig("listener", "tok", guard)
	srv.timeout = 200 * time.Millisecond
	msg1 := recordDialler(t, hsConfig("dialler", "tok", newEphemerals()))
	// First replay: the message proves the token, so the listener answers
	// with its ephemeral key only, then cannot get an identity that decrypts.
	garbageIdent := append([]byte{hsIdent}, make([]byte, 40)...)
	got, err := attack(srv, msg1, garbageIdent)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("first replay: err = %v", err)
	}
	for _, f := range got {
		if bytes.Contains(f, []byte("listener")) {
			t.Fatalf("listener revealed its name to a replayer: %q", got)
		}
	}
	// Second replay: refused at once.
	if _, err := attack(srv, msg1); !errors.Is(err, ErrReplay) {
		t.Fatalf("second replay: err = %v", err)
	}
}

func TestReflectionRefused(t *testing.T) {
	guard := newEphemerals()
	self := hsConfig("node", "tok", guard)
	// The node dials someone who hands its first message back to the node's
	// own listener while the dial is in flight.
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	dialErr := make(chan error, 1)
	go func() { _, err := dialHandshake(c1, self); dialErr <- err }()
	msg1, err := readFrame(c2)
	if err != nil {
		t.Fatal(err)
	}
	listener := self
	listener.timeout = 200 * time.Millisecond
	if _, err := attack(listener, msg1); !errors.Is(err, ErrReflected) {
		t.Fatalf("reflected first message: err = %v", err)
	}
	// And a listener that echoes the dialler's ephemeral key as its own.
	echo := append([]byte{hsResp}, msg1[len(initHeader(ProtocolVersion)):]...)
	if err := writeFrame(c2, echo); err != nil {
		t.Fatal(err)
	}
	if err := <-dialErr; !errors.Is(err, ErrReflected) {
		t.Fatalf("echoed ephemeral key: dialler err = %v", err)
	}
}

func TestVersionRefused(t *testing.T) {
	msg1 := append(initHeader(1), make([]byte, 48)...)
	got, err := attack(hsConfig("listener", "tok", nil), msg1)
	if !errors.Is(err, ErrVersion) {
		t.Fatalf("err = %v", err)
	}
	if len(got) != 1 || !strings.Contains(string(got[0]), "version") {
		t.Fatalf("listener answered %q", got)
	}
}

// FuzzHandshakeServer feeds arbitrary frames to the listener side of the
// handshake: it must fail cleanly, never panic, never accept and never send
// anything but a handshake response or a reject.
func FuzzHandshakeServer(f *testing.F) {
	valid := recordDialler(&testing.T{}, hsConfig("d", "tok", nil))
	f.Add(valid, []byte{hsIdent, 1, 2, 3})
	f.Add(append(initHeader(ProtocolVersion), make([]byte, 48)...), []byte{})
	f.Add(initHeader(7), []byte{hsReject})
	f.Add([]byte{}, []byte{0xff})
	f.Fuzz(func(t *testing.T, first, second []byte) {
		if len(first) > HandshakeMaxFrame || len(second) > HandshakeMaxFrame {
			return
		}
		cfg := hsConfig("srv", "tok", newEphemerals())
		cfg.timeout = 50 * time.Millisecond
		got, err := attack(cfg, first, second)
		if err == nil {
			t.Fatal("accepted a peer without the token")
		}
		for _, g := range got {
			if len(g) == 0 || (g[0] != hsResp && g[0] != hsReject) || bytes.Contains(g, []byte("srv")) {
				t.Fatalf("listener sent %x to an unproven peer", g)
			}
		}
	})
}

// FuzzDecodeIdentity checks the identity decoder never panics and
// round-trips what it accepts.
func FuzzDecodeIdentity(f *testing.F) {
	f.Add(appendIdentity(nil, Identity{ID: 3, Name: "node-a", App: []byte{1}}, true))
	f.Add([]byte{0, 0, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, enc, err := decodeIdentity(b)
		if err != nil {
			return
		}
		again, enc2, err := decodeIdentity(appendIdentity(nil, id, enc))
		if err != nil || again.ID != id.ID || again.Name != id.Name || !bytes.Equal(again.App, id.App) || enc2 != enc {
			t.Fatalf("re-decode: %+v %v", again, err)
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
	srv.rejects.log = srv.log
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

// The record layer's cipher is Noise's AESGCM cipher function continuing the
// handshake's nonce counter: what it seals, the Noise CipherState opens.
func TestRecordCipherMatchesNoise(t *testing.T) {
	d, a := runBoth(hsConfig("d", "tok", nil), hsConfig("a", "tok", nil))
	if d.err != nil || a.err != nil {
		t.Fatal(d.err, a.err)
	}
	rc, err := newRecordCipher(d.s.send)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range []string{"first", "second", ""} {
		ct, err := rc.Encrypt(nil, nil, []byte(msg))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := a.s.recv.Decrypt(nil, nil, ct)
		if err != nil || string(pt) != msg {
			t.Fatalf("noise could not open record %q: %v", msg, err)
		}
	}
}
