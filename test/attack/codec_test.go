package attack

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// callFrame is a cluster data frame (runtime/cluster/wire.go) calling
// "echo" on to with args as the raw codec argument list, from service 1 of
// node fromNode.
func callFrame(to core.ServiceID, fromNode uint16, args []byte) []byte {
	b := []byte{byte(core.KindCall)}
	b = binary.AppendUvarint(b, uint64(to.Node()))
	b = binary.AppendUvarint(b, uint64(to.Incarnation()))
	b = binary.AppendUvarint(b, uint64(to.Index()))
	b = binary.AppendUvarint(b, uint64(fromNode))
	b = binary.AppendUvarint(b, 0) // incarnation
	b = binary.AppendUvarint(b, 1) // index
	b = binary.AppendUvarint(b, 1) // session
	b = binary.AppendUvarint(b, 4)
	b = append(b, "echo"...)
	b = append(b, args...)
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...) // frame header, payload
}

// arrayArgs is an argument list holding one [n]int64 with no payload.
func arrayArgs(n uint64) []byte {
	b := []byte{1, 0x21} // one argument, an array
	b = binary.AppendUvarint(b, n)
	return append(b, 0x06) // of int64
}

// checkEnvelope proves the frames below reach the argument decoder: a call
// built the same way with a small, valid array gets a reply (the node
// routes it back on this connection, which claims an unused node id).
func checkEnvelope(t *testing.T, p *proc, to core.ServiceID) {
	t.Helper()
	nc, err := dialFrom("127.0.0.6", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const fakeNode = 4000
	if _, err := noiseDialAs(nc, token, "envelope-check", fakeNode); err != nil {
		t.Fatal(err)
	}
	args := append(arrayArgs(2), 0x02, 0x04) // [2]int64{1, 2}
	if _, err := nc.Write(callFrame(to, fakeNode, args)); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		f, err := readFrame(nc)
		if err != nil {
			t.Fatalf("no reply to a valid hand-built call: %v", err)
		}
		if len(f) > 0 && f[0] == byte(core.KindReply) {
			return
		}
	}
}

func lookup(t *testing.T, calls *caller, node string) core.ServiceID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	id, err := calls.core.Lookup(ctx, contract.EchoName(node))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// flood sends frames from conns authenticated connections (the token is
// known: a compromised client) and closes them.
func flood(t *testing.T, p *proc, conns int, frames func(i int) [][]byte) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := range conns {
		wg.Go(func() {
			nc, err := dialFrom("127.0.0.6", p.addr)
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			if _, err := noiseDial(nc, token, fmt.Sprintf("codec-%d", i)); err != nil {
				errs <- err
				return
			}
			var buf net.Buffers
			for _, f := range frames(i) {
				buf = append(buf, f)
			}
			_, _ = buf.WriteTo(nc)
			time.Sleep(200 * time.Millisecond) // let the node read it all
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// hugeArrays: 16 connections × 70 frames of ~25 bytes, each declaring
// [8388608]int64 (64 MiB) with no payload: 1.1 MiB sent in all.
func hugeArrays(t *testing.T, calls *caller, a *proc) {
	to := lookup(t, calls, "a")
	checkEnvelope(t, a, to)
	args := arrayArgs(8 << 20)
	flood(t, a, 16, func(int) [][]byte {
		out := make([][]byte, 0, 70)
		for range 70 {
			out = append(out, callFrame(to, 0, args))
		}
		return out
	})
	time.Sleep(500 * time.Millisecond)
	if r := a.maxRSS.Load(); r > rssBound {
		t.Fatalf("a at %d MiB RSS after 1.1 MiB of array frames, bound %d MiB", r>>20, rssBound>>20)
	}
}

// distinctArrays: 200,000 frames of ~15 bytes, each with another array
// length: every distinct [N]T the decoder builds as a Go type stays forever.
func distinctArrays(t *testing.T, calls *caller, b *proc) {
	to := lookup(t, calls, "b")
	checkEnvelope(t, b, to)
	const conns, per = 8, 25000
	flood(t, b, conns, func(i int) [][]byte {
		out := make([][]byte, 0, per)
		for j := range per {
			args := arrayArgs(uint64(1 + i*per + j))
			out = append(out, callFrame(to, 0, args))
		}
		return out
	})
	time.Sleep(500 * time.Millisecond)
	if r := b.maxRSS.Load(); r > rssBound {
		t.Fatalf("b at %d MiB RSS after 200,000 distinct array lengths, bound %d MiB", r>>20, rssBound>>20)
	}
}
