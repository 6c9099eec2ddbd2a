package gatebench

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/coder/websocket"
)

// kindReply is the gate protocol's reply kind; byte 0 of a message is its kind.
const kindReply = 4

// maxMessage bounds one echoed message.
const maxMessage = 64 << 10

// ServeTCP echoes length-prefixed messages on ln, kind set to reply, until
// ln is closed; it waits for its connections to end.
func ServeTCP(ln net.Listener) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	defer func() {
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		mu.Lock()
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			echoTCP(c)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			_ = c.Close()
		})
	}
}

func echoTCP(c net.Conn) {
	var head [4]byte
	for {
		if _, err := io.ReadFull(c, head[:]); err != nil {
			return
		}
		n := binary.LittleEndian.Uint32(head[:])
		if n == 0 || n > maxMessage {
			return
		}
		buf := make([]byte, 4+n)
		copy(buf, head[:])
		if _, err := io.ReadFull(c, buf[4:]); err != nil {
			return
		}
		buf[4] = kindReply
		if _, err := c.Write(buf); err != nil {
			return
		}
	}
}

// WSHandler echoes binary WebSocket messages, kind set to reply.
func WSHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer func() { _ = c.CloseNow() }()
		c.SetReadLimit(maxMessage)
		ctx := context.Background()
		for {
			typ, msg, err := c.Read(ctx)
			if err != nil || len(msg) == 0 {
				return
			}
			msg[0] = kindReply
			if err := c.Write(ctx, typ, msg); err != nil {
				return
			}
		}
	})
}
