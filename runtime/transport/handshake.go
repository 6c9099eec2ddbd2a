package transport

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// ProtocolVersion is the version spoken in the handshake. Peers with another
// version are rejected.
const ProtocolVersion = 1

// HandshakeMaxFrame bounds every handshake frame, so an unauthenticated peer
// cannot make us allocate more than this.
const HandshakeMaxFrame = 512

// MaxNameLen bounds a node name carried in the hello frame.
const MaxNameLen = 253

const nonceSize = 32

// Handshake frame types.
const (
	hsHello  byte = 1
	hsProof  byte = 2
	hsAccept byte = 3
	hsReject byte = 4
)

var helloMagic = []byte("LOTO")

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
)

// Identity is what a node tells its peers about itself in the handshake. ID is
// zero until the master has assigned one.
type Identity struct {
	ID   uint16
	Name string
}

// hello is the first handshake frame.
type hello struct {
	Version uint64
	ID      uint16
	Name    string
	Nonce   [nonceSize]byte
}

func appendHello(dst []byte, h hello) []byte {
	dst = append(dst, hsHello)
	dst = append(dst, helloMagic...)
	dst = binary.AppendUvarint(dst, h.Version)
	dst = binary.LittleEndian.AppendUint16(dst, h.ID)
	dst = binary.AppendUvarint(dst, uint64(len(h.Name)))
	dst = append(dst, h.Name...)
	return append(dst, h.Nonce[:]...)
}

// decodeHello parses a hello frame payload. It never panics.
func decodeHello(b []byte) (hello, error) {
	var h hello
	if len(b) < 1+len(helloMagic) || b[0] != hsHello || !bytes.Equal(b[1:1+len(helloMagic)], helloMagic) {
		return h, fmt.Errorf("%w: not a hello", ErrBadHandshake)
	}
	b = b[1+len(helloMagic):]
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return h, fmt.Errorf("%w: bad version", ErrBadHandshake)
	}
	h.Version = v
	b = b[n:]
	if len(b) < 2 {
		return h, fmt.Errorf("%w: short id", ErrBadHandshake)
	}
	h.ID = binary.LittleEndian.Uint16(b)
	b = b[2:]
	l, n := binary.Uvarint(b)
	if n <= 0 || l > MaxNameLen || uint64(len(b)-n) < l {
		return h, fmt.Errorf("%w: bad name", ErrBadHandshake)
	}
	h.Name = string(b[n : n+int(l)])
	b = b[n+int(l):]
	if len(b) != nonceSize {
		return h, fmt.Errorf("%w: bad nonce", ErrBadHandshake)
	}
	copy(h.Nonce[:], b)
	return h, nil
}

// proof computes the HMAC a side sends to prove it knows token. own is the
// sender's hello frame, peer the receiver's.
func proof(token, own, peer []byte) []byte {
	m := hmac.New(sha256.New, token)
	m.Write([]byte("lotou-handshake"))
	var lb [binary.MaxVarintLen64]byte
	m.Write(lb[:binary.PutUvarint(lb[:], uint64(len(own)))])
	m.Write(own)
	m.Write(lb[:binary.PutUvarint(lb[:], uint64(len(peer)))])
	m.Write(peer)
	return m.Sum(nil)
}

// decodeVerdict interprets the frame after proofs: nil for accept, an error
// wrapping ErrRejected with the peer's reason, or ErrBadHandshake.
func decodeVerdict(b []byte) error {
	switch {
	case len(b) == 1 && b[0] == hsAccept:
		return nil
	case len(b) >= 1 && b[0] == hsReject:
		return fmt.Errorf("%w: %q", ErrRejected, sanitize(b[1:]))
	default:
		return fmt.Errorf("%w: expected verdict", ErrBadHandshake)
	}
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

// handshake runs the mutual handshake on c and returns the peer's identity.
// It is symmetric: both ends call it.
func handshake(c net.Conn, self Identity, token []byte, timeout time.Duration) (Identity, error) {
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return Identity{}, fmt.Errorf("setting handshake deadline: %w", err)
	}
	defer func() { _ = c.SetDeadline(time.Time{}) }() // best effort; a failure shows on the next I/O

	own := hello{Version: ProtocolVersion, ID: self.ID, Name: self.Name}
	if _, err := rand.Read(own.Nonce[:]); err != nil {
		return Identity{}, fmt.Errorf("making nonce: %w", err)
	}
	ownBytes := appendHello(nil, own)
	if err := writeFrame(c, ownBytes); err != nil {
		return Identity{}, err
	}
	peerBytes, err := readFrame(c)
	if err != nil {
		return Identity{}, err
	}
	if len(peerBytes) > 0 && peerBytes[0] == hsReject {
		return Identity{}, decodeVerdict(peerBytes)
	}
	peer, err := decodeHello(peerBytes)
	if err != nil {
		return Identity{}, err
	}
	if peer.Version != ProtocolVersion {
		reject(c, fmt.Sprintf("protocol version %d not supported, want %d", peer.Version, ProtocolVersion))
		return Identity{}, fmt.Errorf("%w: peer %q speaks %d, want %d", ErrVersion, peer.Name, peer.Version, ProtocolVersion)
	}
	if err := writeFrame(c, append([]byte{hsProof}, proof(token, ownBytes, peerBytes)...)); err != nil {
		return Identity{}, err
	}
	got, err := readFrame(c)
	if err != nil {
		return Identity{}, err
	}
	if len(got) > 0 && got[0] == hsReject {
		return Identity{}, decodeVerdict(got)
	}
	if len(got) != 1+sha256.Size || got[0] != hsProof {
		return Identity{}, fmt.Errorf("%w: expected proof", ErrBadHandshake)
	}
	if !hmac.Equal(got[1:], proof(token, peerBytes, ownBytes)) {
		reject(c, "authentication failed")
		return Identity{}, fmt.Errorf("%w: node %q", ErrAuth, peer.Name)
	}
	if err := writeFrame(c, []byte{hsAccept}); err != nil {
		return Identity{}, err
	}
	v, err := readFrame(c)
	if err != nil {
		return Identity{}, err
	}
	if err := decodeVerdict(v); err != nil {
		return Identity{}, err
	}
	return Identity{ID: peer.ID, Name: peer.Name}, nil
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
