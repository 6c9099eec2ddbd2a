package transport

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/flynn/noise"
)

// ProtocolVersion is the version spoken in the handshake. Peers with another
// version are rejected. Version 1 was a home-made HMAC exchange that could be
// reflected; version 2 is Noise_NNpsk0 (see doc.go); version 3 is version 2's
// handshake with data frames that carry the caller's remaining budget
// (runtime/cluster wire.go), which a version 2 node cannot read.
const ProtocolVersion = 3

// HandshakeMaxFrame bounds every handshake frame, so an unauthenticated peer
// cannot make us allocate more than this.
const HandshakeMaxFrame = 1024

// MaxNameLen bounds a node name carried in the identity message.
const MaxNameLen = 253

// MaxAppPayload bounds the opaque application payload of the identity message.
const MaxAppPayload = 512

// Handshake frame types: the first byte of every handshake frame.
const (
	hsInit   byte = 1 // dialler → listener: magic, version, Noise message 1
	hsResp   byte = 2 // listener → dialler: Noise message 2
	hsIdent  byte = 3 // both ways, dialler first: encrypted identity
	hsReject byte = 4 // either way: reason, then the connection closes
)

// identity flags.
const flagEncrypt byte = 1 << 0

var initMagic = []byte("LOTN")

// noiseSuite is the Noise cipher suite: X25519, AES-256-GCM, SHA-256.
var noiseSuite = noise.NewCipherSuite(noise.DH25519, noise.CipherAESGCM, noise.HashSHA256)

// pskLabel separates the handshake key derived from the cluster token from
// any other use of the token.
const pskLabel = "lotou cluster token psk v2"

// prologueLabel is mixed into the Noise transcript together with the clear
// header of the first message, which authenticates the version.
const prologueLabel = "lotou-noise-v2"

// Errors of the handshake, checked with errors.Is.
var (
	// ErrBadHandshake means the peer sent bytes that are not a valid handshake.
	ErrBadHandshake = errors.New("transport: malformed handshake")
	// ErrVersion means the peer speaks another protocol version.
	ErrVersion = errors.New("transport: protocol version mismatch")
	// ErrAuth means the peer could not prove it knows the cluster token.
	ErrAuth = errors.New("transport: peer failed token proof")
	// ErrRejected means the peer refused our handshake.
	ErrRejected = errors.New("transport: rejected by peer")
	// ErrReplay means the peer sent a first handshake message already seen:
	// a replay of a recorded handshake.
	ErrReplay = errors.New("transport: replayed handshake")
	// ErrReflected means the peer sent back an ephemeral key this node made
	// itself: a handshake reflected to its author.
	ErrReflected = errors.New("transport: reflected handshake")
)

// Identity is what a node tells its peers about itself once the peer has
// proven the token. ID is zero until the master has assigned one. App is
// opaque to the transport: the cluster layer fills and reads it (at most
// MaxAppPayload bytes).
type Identity struct {
	ID   uint16
	Name string
	App  []byte
}

// session is what a completed handshake leaves: the peer's identity and,
// when frames are to be encrypted, the cipher states of both directions.
type session struct {
	peer       Identity
	encrypt    bool
	send, recv *noise.CipherState
}

// handshakeConfig is what one side needs for a handshake.
type handshakeConfig struct {
	psk     []byte
	self    Identity
	encrypt bool
	timeout time.Duration
	guard   *ephemerals // may be nil (tests)
}

// derivePSK turns the cluster token into the 32-byte Noise pre-shared key.
func derivePSK(token []byte) []byte {
	h := sha256.New()
	h.Write([]byte(pskLabel))
	h.Write(token)
	return h.Sum(nil)
}

// initHeader is the clear part of the first frame: type, magic, version.
func initHeader(version uint64) []byte {
	b := append([]byte{hsInit}, initMagic...)
	return binary.AppendUvarint(b, version)
}

func prologue(header []byte) []byte {
	return append([]byte(prologueLabel), header...)
}

func newNoise(psk, header []byte, initiator bool) (*noise.HandshakeState, error) {
	hs, err := noise.NewHandshakeState(noise.Config{
		CipherSuite: noiseSuite, Random: rand.Reader, Pattern: noise.HandshakeNN,
		Initiator: initiator, Prologue: prologue(header), PresharedKey: psk, PresharedKeyPlacement: 0,
	})
	if err != nil {
		return nil, fmt.Errorf("starting noise handshake: %w", err)
	}
	return hs, nil
}

// appendIdentity encodes the identity message plaintext (see doc.go).
func appendIdentity(dst []byte, id Identity, encrypt bool) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, id.ID)
	dst = binary.AppendUvarint(dst, uint64(len(id.Name)))
	dst = append(dst, id.Name...)
	var flags byte
	if encrypt {
		flags |= flagEncrypt
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(id.App)))
	return append(dst, id.App...)
}

// decodeIdentity parses an identity message plaintext. It never panics.
func decodeIdentity(b []byte) (Identity, bool, error) {
	var id Identity
	if len(b) < 2 {
		return id, false, fmt.Errorf("%w: short identity", ErrBadHandshake)
	}
	id.ID = binary.LittleEndian.Uint16(b)
	b = b[2:]
	l, n := binary.Uvarint(b)
	if n <= 0 || l > MaxNameLen || uint64(len(b)-n) < l {
		return id, false, fmt.Errorf("%w: bad name", ErrBadHandshake)
	}
	id.Name = string(b[n : n+int(l)])
	b = b[n+int(l):]
	if len(b) < 1 {
		return id, false, fmt.Errorf("%w: no flags", ErrBadHandshake)
	}
	encrypt := b[0]&flagEncrypt != 0 // other bits are reserved and ignored
	b = b[1:]
	l, n = binary.Uvarint(b)
	if n <= 0 || l > MaxAppPayload || uint64(len(b)-n) != l {
		return id, false, fmt.Errorf("%w: bad application payload", ErrBadHandshake)
	}
	if l > 0 {
		id.App = bytes.Clone(b[n:])
	}
	return id, encrypt, nil
}

// dialHandshake runs the dialler's side on c: it proves the token first, then
// learns the listener's identity.
func dialHandshake(c net.Conn, cfg handshakeConfig) (session, error) {
	if err := c.SetDeadline(time.Now().Add(cfg.timeout)); err != nil {
		return session{}, fmt.Errorf("setting handshake deadline: %w", err)
	}
	defer func() { _ = c.SetDeadline(time.Time{}) }() // best effort; a failure shows on the next I/O

	header := initHeader(ProtocolVersion)
	hs, err := newNoise(cfg.psk, header, true)
	if err != nil {
		return session{}, err
	}
	msg1, _, _, err := hs.WriteMessage(append([]byte(nil), header...), nil)
	if err != nil {
		return session{}, fmt.Errorf("writing noise message 1: %w", err)
	}
	own := hs.LocalEphemeral().Public
	if cfg.guard != nil {
		cfg.guard.addOwn(own)
		defer cfg.guard.dropOwn(own)
	}
	if err := writeFrame(c, msg1); err != nil {
		return session{}, err
	}
	msg2, err := readFrame(c)
	if err != nil {
		return session{}, err
	}
	if err := expect(msg2, hsResp); err != nil {
		return session{}, err
	}
	if len(msg2) > 33 && bytes.Equal(msg2[1:33], own) {
		return session{}, fmt.Errorf("%w: listener echoed our ephemeral key", ErrReflected)
	}
	_, send, recv, err := hs.ReadMessage(nil, msg2[1:])
	if err != nil || send == nil {
		return session{}, fmt.Errorf("%w: listener's noise message 2: %v", ErrAuth, err) //nolint:errorlint // the noise error is detail, ErrAuth the kind
	}
	if err := writeIdentity(c, send, cfg.self, cfg.encrypt); err != nil {
		return session{}, err
	}
	peer, enc, err := readIdentity(c, recv)
	if err != nil {
		return session{}, err
	}
	return session{peer: peer, encrypt: enc || cfg.encrypt, send: send, recv: recv}, nil
}

// acceptHandshake runs the listener's side on c. Nothing about this node
// leaves before the dialler has proven the token (message 1) and that it is
// live, not replaying a recording (its identity, encrypted under keys only
// the holder of its ephemeral private key can derive).
func acceptHandshake(c net.Conn, cfg handshakeConfig) (session, error) {
	if err := c.SetDeadline(time.Now().Add(cfg.timeout)); err != nil {
		return session{}, fmt.Errorf("setting handshake deadline: %w", err)
	}
	defer func() { _ = c.SetDeadline(time.Time{}) }() // best effort; a failure shows on the next I/O

	msg1, err := readFrame(c)
	if err != nil {
		return session{}, err
	}
	if err := expect(msg1, hsInit); err != nil {
		return session{}, err
	}
	if len(msg1) < 1+len(initMagic) || !bytes.Equal(msg1[1:1+len(initMagic)], initMagic) {
		return session{}, fmt.Errorf("%w: not a lotou handshake", ErrBadHandshake)
	}
	version, n := binary.Uvarint(msg1[1+len(initMagic):])
	if n <= 0 {
		return session{}, fmt.Errorf("%w: bad version", ErrBadHandshake)
	}
	if version != ProtocolVersion {
		reject(c, fmt.Sprintf("protocol version %d not supported, want %d", version, ProtocolVersion))
		return session{}, fmt.Errorf("%w: peer speaks %d, want %d", ErrVersion, version, ProtocolVersion)
	}
	headerLen := 1 + len(initMagic) + n
	hs, err := newNoise(cfg.psk, msg1[:headerLen], false)
	if err != nil {
		return session{}, err
	}
	body := msg1[headerLen:]
	if _, _, _, err := hs.ReadMessage(nil, body); err != nil {
		reject(c, "authentication failed")
		return session{}, fmt.Errorf("%w: noise message 1: %v", ErrAuth, err) //nolint:errorlint // the noise error is detail, ErrAuth the kind
	}
	if cfg.guard != nil {
		if err := cfg.guard.checkPeer(hs.PeerEphemeral()); err != nil {
			reject(c, "authentication failed")
			return session{}, err
		}
	}
	msg2, recv, send, err := hs.WriteMessage([]byte{hsResp}, nil)
	if err != nil || send == nil {
		return session{}, fmt.Errorf("writing noise message 2: %w", err)
	}
	if err := writeFrame(c, msg2); err != nil {
		return session{}, err
	}
	peer, enc, err := readIdentity(c, recv)
	if err != nil {
		return session{}, err
	}
	if err := writeIdentity(c, send, cfg.self, cfg.encrypt); err != nil {
		return session{}, err
	}
	return session{peer: peer, encrypt: enc || cfg.encrypt, send: send, recv: recv}, nil
}

// expect checks that frame b is of type typ, turning a reject frame into
// ErrRejected with the peer's reason.
func expect(b []byte, typ byte) error {
	switch {
	case len(b) > 0 && b[0] == typ:
		return nil
	case len(b) > 0 && b[0] == hsReject:
		return fmt.Errorf("%w: %q", ErrRejected, sanitize(b[1:]))
	default:
		return fmt.Errorf("%w: expected handshake frame %d", ErrBadHandshake, typ)
	}
}

func writeIdentity(c net.Conn, cs *noise.CipherState, self Identity, encrypt bool) error {
	if len(self.Name) > MaxNameLen || len(self.App) > MaxAppPayload {
		return fmt.Errorf("%w: own name or application payload too long", ErrBadHandshake)
	}
	out, err := cs.Encrypt([]byte{hsIdent}, nil, appendIdentity(nil, self, encrypt))
	if err != nil {
		return fmt.Errorf("encrypting identity: %w", err)
	}
	return writeFrame(c, out)
}

func readIdentity(c net.Conn, cs *noise.CipherState) (Identity, bool, error) {
	b, err := readFrame(c)
	if err != nil {
		return Identity{}, false, err
	}
	if err := expect(b, hsIdent); err != nil {
		return Identity{}, false, err
	}
	plain, err := cs.Decrypt(nil, nil, b[1:])
	if err != nil {
		return Identity{}, false, fmt.Errorf("%w: identity does not decrypt (replayed or forged handshake)", ErrAuth)
	}
	return decodeIdentity(plain)
}

// sanitize keeps a peer-supplied reason printable and short for logs.
func sanitize(b []byte) string {
	if len(b) > 128 {
		b = b[:128]
	}
	return string(bytes.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, b))
}

func reject(c net.Conn, reason string) {
	_ = writeFrame(c, append([]byte{hsReject}, reason...))
}

func writeFrame(w io.Writer, payload []byte) error {
	if _, err := w.Write(AppendFrame(nil, payload)); err != nil {
		return fmt.Errorf("writing handshake: %w", err)
	}
	return nil
}

// readFrame reads exactly one frame, never more bytes than it needs, so that
// data following the handshake stays in the connection for the read loop.
func readFrame(r io.Reader) ([]byte, error) {
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("reading handshake: %w", err)
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n > HandshakeMaxFrame {
		return nil, fmt.Errorf("%w: handshake frame of %d bytes", ErrFrameTooLarge, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("reading handshake: %w", err)
	}
	return b, nil
}
