package transport

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/flynn/noise"
)

// Record layer for encrypted links (Options.Encrypt). After the handshake
// every byte of the frame stream is carried in records:
//
//	record = uint32le(len(ciphertext)) ciphertext
//
// where ciphertext is AES-256-GCM under the session key of its direction,
// with the Noise nonce counter (so records cannot be dropped, replayed or
// reordered), at most maxRecordPlain plaintext bytes plus a 16-byte tag.

const (
	tagSize        = 16
	maxRecord      = 65535 // Noise's maximum message size
	maxRecordPlain = maxRecord - tagSize
	// maxWriteBatch bounds how much is encrypted before one write, so the
	// record buffer stays small however much is queued.
	maxWriteBatch = 256 << 10
)

// ErrDecrypt means a record did not authenticate: the stream was altered.
var ErrDecrypt = errors.New("transport: record does not authenticate")

// secureConn is a net.Conn that encrypts what is written and decrypts what is
// read. Writes come from one goroutine at a time (the Conn's writeMu); reads
// from the read loop only.
type secureConn struct {
	net.Conn
	send, recv *recordCipher
	br         *bufio.Reader
	rec        []byte // record being decrypted
	plain      []byte // decrypted bytes not yet returned by Read
	wbuf       []byte
}

func newSecureConn(nc net.Conn, send, recv *noise.CipherState) (*secureConn, error) {
	s, err := newRecordCipher(send)
	if err != nil {
		return nil, err
	}
	r, err := newRecordCipher(recv)
	if err != nil {
		return nil, err
	}
	return &secureConn{Conn: nc, send: s, recv: r, br: bufio.NewReaderSize(nc, 32<<10)}, nil
}

// recordCipher is Noise's AESGCM cipher function (key from the handshake,
// nonce = 4 zero bytes || uint64 big-endian counter) continuing the
// counter of the handshake's CipherState, with the nonce kept in the struct
// so that sealing a record allocates nothing.
type recordCipher struct {
	aead  cipher.AEAD
	n     uint64
	nonce [12]byte
}

func newRecordCipher(cs *noise.CipherState) (*recordCipher, error) {
	k := cs.UnsafeKey()
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("record cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("record cipher: %w", err)
	}
	return &recordCipher{aead: aead, n: cs.Nonce()}, nil
}

func (c *recordCipher) next() ([]byte, error) {
	if c.n > noise.MaxNonce {
		return nil, noise.ErrMaxNonce
	}
	binary.BigEndian.PutUint64(c.nonce[4:], c.n)
	c.n++
	return c.nonce[:], nil
}

// Encrypt appends the sealed plaintext to out.
func (c *recordCipher) Encrypt(out, ad, plaintext []byte) ([]byte, error) {
	nonce, err := c.next()
	if err != nil {
		return nil, err
	}
	return c.aead.Seal(out, nonce, plaintext, ad), nil
}

// Decrypt appends the opened ciphertext to out.
func (c *recordCipher) Decrypt(out, ad, ciphertext []byte) ([]byte, error) {
	nonce, err := c.next()
	if err != nil {
		return nil, err
	}
	return c.aead.Open(out, nonce, ciphertext, ad) //nolint:wrapcheck // the caller reports ErrDecrypt
}

// Read returns decrypted bytes.
func (s *secureConn) Read(b []byte) (int, error) {
	if len(s.plain) == 0 {
		if err := s.readRecord(); err != nil {
			return 0, err
		}
	}
	n := copy(b, s.plain)
	s.plain = s.plain[n:]
	return n, nil
}

func (s *secureConn) readRecord() error {
	var hdr [4]byte
	if _, err := io.ReadFull(s.br, hdr[:]); err != nil {
		return err //nolint:wrapcheck // the caller wraps with the peer address; io.EOF must stay visible
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n < tagSize || n > maxRecord {
		return fmt.Errorf("%w: record of %d bytes", ErrDecrypt, n)
	}
	if cap(s.rec) < int(n) {
		// Grows with what the peer actually sends, up to one record.
		s.rec = make([]byte, n, max(int(n), min(2*cap(s.rec), maxRecord)))
	}
	s.rec = s.rec[:n]
	if _, err := io.ReadFull(s.br, s.rec); err != nil {
		return err //nolint:wrapcheck // as above
	}
	plain, err := s.recv.Decrypt(s.rec[:0], nil, s.rec)
	if err != nil {
		return ErrDecrypt
	}
	s.plain = plain
	return nil
}

// Write encrypts b into records and writes them.
func (s *secureConn) Write(b []byte) (int, error) {
	return s.writeBuffers(net.Buffers{b})
}

// writeBuffers encrypts bufs into records and writes them with as few
// system calls as the batch bound allows. It returns the plaintext bytes
// written.
func (s *secureConn) writeBuffers(bufs net.Buffers) (int, error) {
	total := 0
	s.wbuf = s.wbuf[:0]
	flush := func() error {
		if len(s.wbuf) == 0 {
			return nil
		}
		_, err := s.Conn.Write(s.wbuf)
		s.wbuf = s.wbuf[:0]
		return err
	}
	for _, b := range bufs {
		for len(b) > 0 {
			chunk := b[:min(len(b), maxRecordPlain)]
			b = b[len(chunk):]
			s.wbuf = binary.LittleEndian.AppendUint32(s.wbuf, uint32(len(chunk)+tagSize))
			out, err := s.send.Encrypt(s.wbuf, nil, chunk)
			if err != nil {
				return total, fmt.Errorf("encrypting record: %w", err)
			}
			s.wbuf = out
			total += len(chunk)
			if len(s.wbuf) >= maxWriteBatch {
				if err := flush(); err != nil {
					return total, err // the stream is broken; the caller closes the connection
				}
			}
		}
	}
	if err := flush(); err != nil {
		return total, err
	}
	return total, nil
}
