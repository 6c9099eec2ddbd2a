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
// frame may arrive split at any byte.
//
// # Handshake
//
// Right after the TCP (or TLS) connection is open, both sides write a hello
// frame at once:
//
//	hello  = 0x01 "LOTO" uvarint(version) uint16le(node id) uvarint(len) name nonce[32]
//
// then a proof that they know the shared cluster token, without sending it:
//
//	proof  = 0x02 HMAC-SHA256(token, "lotou-handshake" || lp(own hello) || lp(peer hello))
//
// where lp(x) is uvarint(len(x)) followed by x. Because each side puts its own
// hello first, a proof reflected back to its author never verifies. Last comes
// a verdict:
//
//	accept = 0x03
//	reject = 0x04 reason
//
// A peer that speaks another protocol version or cannot prove the token gets a
// reject frame, is logged with its address and is disconnected; nothing else
// happens. Handshake frames are limited to HandshakeMaxFrame bytes.
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
