// Package transport moves opaque frames between Lotou nodes over TCP
// (optionally TLS). It knows nothing of services, names or messages: the
// cluster package gives it bytes and receives bytes.
//
// # Wire format
//
// Every frame is a 4-byte little-endian payload length followed by the payload.
// A frame longer than Options.MaxFrame is a protocol violation: the reader
// refuses it before allocating anything and the connection is closed with a
// logged reason. The Parser is resumable: it keeps its state between reads, so a
// frame may arrive split at any byte, and the buffer of a split frame grows
// with the bytes actually received (at most 64 KiB ahead of them), never
// with the length announced. An empty frame is a keepalive: it is never
// handed to the Handler.
//
// # Handshake (protocol version 3)
//
// Right after the TCP (or TLS) connection is open, the two sides run the Noise
// protocol Noise_NNpsk0_25519_AESGCM_SHA256 (noiseprotocol.org, revision 34,
// through github.com/flynn/noise) with a pre-shared key derived from the
// cluster token:
//
//	psk = SHA-256("lotou cluster token psk v2" || token)
//
// Every handshake message is one frame (at most HandshakeMaxFrame = 1024
// bytes) whose first byte is its type:
//
//	msg 1  dialler → listener   01 "LOTN" uvarint(version) e[32] tag[16]
//	msg 2  listener → dialler   02 e[32] tag[16]
//	msg 3  dialler → listener   03 AEAD(identity of the dialler)
//	msg 4  listener → dialler   03 AEAD(identity of the listener)
//	reject either way           04 reason     (then the connection closes)
//
// Messages 1 and 2 are the two Noise messages ("psk, e" and "e, ee"), with
// empty payloads; the clear header 01 "LOTN" uvarint(version) is the start
// of message 1 and is mixed into the Noise prologue, prefixed with
// "lotou-noise-v2", so a changed version fails authentication. Messages 3 and
// 4 are sealed with the two Noise transport keys (dialler→listener and
// listener→dialler, nonce 0 each). The identity plaintext is:
//
//	identity = uint16le(node id) uvarint(len) name flags uvarint(len) app
//	flags    = 1 byte; bit 0: this side wants encrypted frames; others reserved (sent 0, ignored)
//	name     ≤ MaxNameLen (253) bytes; app ≤ MaxAppPayload (512) bytes
//
// app is opaque to the transport (Identity.App): the cluster layer fills and
// reads it, so cluster-level fields such as a process incarnation need no
// transport change. Golden bytes, pinned by TestIdentityGolden:
//
//	init header, version 3             01 4c4f544e 03
//	{ID: 0x0102, Name: "ab"}, encrypt  0201 02 6162 01 00
//	{ID: 7, Name: "n", App: de ad}     0700 01 6e 00 02 dead
//
// What this gives, against the issues of version 1 (a symmetric HMAC exchange
// that could be completed by reflecting two nodes' messages to each other):
//
//   - Direction is bound: dialler and listener play different Noise roles,
//     and the transcript of each role differs, so nothing can be reflected
//     from one connection into another.
//   - The dialler proves first: message 1 carries an AEAD tag under a key
//     mixed from the psk; a listener refuses a message 1 that does not
//     authenticate with "reject: authentication failed", before sending
//     anything of its own.
//   - Nothing about the node leaves before the peer has proven itself: the
//     listener's message 2 holds only an ephemeral key, and the names travel
//     in messages 3 and 4, encrypted; the listener sends its identity only
//     after the dialler's identity decrypted, which needs the dialler's
//     ephemeral private key (a live peer, not a recording).
//   - Replays are refused: a message 1 that authenticates is remembered (its
//     ephemeral key, the last 4096) and refused if seen again; a replayer
//     that gets through once cannot produce message 3.
//   - Echoes are refused: a listener refuses a message 1 carrying an
//     ephemeral key this node is itself using as a dialler, and a dialler
//     refuses a message 2 that echoes its own key.
//   - A passive eavesdropper learns no name and no id. With a captured
//     message 1 it can test token guesses offline, as against any PSK
//     protocol: a low-entropy token is weak, hence the operator's random
//     token and optional TLS (docs/security.md). Someone who only connects
//     gets nothing to test guesses against: listeners never prove first.
//
// Why Noise rather than the alternatives: TLS 1.3 with an external PSK is not
// exposed by Go's crypto/tls; SCRAM (RFC 5802/7677) authenticates a client to
// a server but derives no session keys for the frames that follow and is
// itself a hand-assembled exchange in Go; Noise NNpsk0 is a small, analysed
// pattern with a maintained implementation (flynn/noise, the base of Nebula's
// handshake) that authenticates both directions with the token and yields
// transport keys. NNpsk0 rather than NNpsk2 because psk0 makes the dialler
// prove the token in the first message; XXpsk3 and the other patterns with
// static keys would add a key per node that the operator would have to
// distribute, for no gain while the token is the only credential.
//
// # Encrypted frames (Options.Encrypt)
//
// When either side's identity sets flag bit 0, everything after message 4 is
// carried in records: uint32le(len) || AES-256-GCM(plaintext) with the Noise
// transport key of that direction and its nonce counter (so records cannot be
// dropped, replayed or reordered), at most 65535 bytes each. Frames are
// written into records unchanged; a record may hold many frames or part of
// one. Without encryption the frames after the handshake are plain: an
// on-path attacker could inject into an established connection, so use
// Encrypt or TLS where the network is not trusted.
//
// # Limits
//
// Every link has a read deadline: IdleTimeout (15s) without any byte, or
// FrameTimeout (10s) to finish a frame once begun; each side writes an empty
// keepalive frame after IdleTimeout/3 without writing, so healthy links never
// hit the idle timeout. The handshake must finish within HandshakeTimeout
// (5s). At most MaxPending (128) accepted connections may be in handshake at
// once, MaxPendingPerAddr (16) per remote IP. A connection beyond its
// address's cap is closed at once; one beyond MaxPending evicts the oldest
// connection in handshake, so that idle connections held from many addresses
// cannot lock real peers out (a real handshake ends a few round trips after
// its accept). Accept errors such as EMFILE are retried with backoff (5ms
// doubling to 1s, as net/http does) and reported by ListenErr until an
// accept succeeds. Refused connections are counted by reason (Rejections) and
// logged at most once per reason and RejectLogInterval (1s) with the peer address.
//
// # Connections
//
// Each connection has exactly one read goroutine and one write goroutine. The
// writer drains the connection's bounded send queue and writes everything that
// is queued with a single vectored write (net.Buffers), so many small frames
// cost one system call. A full queue is reported to the sender as ErrQueueFull;
// nothing blocks and nothing panics.
//
// Outbound links (Peer) are dialled lazily on the first frame and re-dialled
// with exponential backoff when the connection drops; their queue survives
// reconnects. Every goroutine is started through the Transport, which joins
// them all in Close.
package transport
