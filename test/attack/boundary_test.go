package attack

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// boundaries are uvarint values at every width edge and at the edges of
// the types they are read into (uint16 node ids, 14-bit incarnations,
// int lengths).
var boundaries = []uint64{
	0, 1, 0x7f, 0x80, 0x3fff, 0x4000, 0xffff, 0x10000, 1<<21 - 1, 1 << 21, 1<<28 - 1, 1 << 28,
	1<<31 - 1, 1 << 31, 1<<32 - 1, 1 << 32, 1<<35 - 1, 1<<63 - 1, 1 << 63, 1<<64 - 1,
}

// envelope is a data frame's fields (runtime/cluster/wire.go) before the
// command: kind, to (node, incarnation, index), from (same), session.
type envelope struct {
	kind               byte
	to, from           [3]uint64
	session            uint64
	cmdLen, argCount   uint64
	cmd                string
	withCmd, withCount bool
}

func (v envelope) frame() []byte {
	b := []byte{v.kind}
	for _, x := range append(v.to[:], v.from[:]...) {
		b = binary.AppendUvarint(b, x)
	}
	b = binary.AppendUvarint(b, v.session)
	if v.withCmd {
		b = binary.AppendUvarint(b, v.cmdLen)
		b = append(b, v.cmd...)
	}
	if v.withCount {
		b = binary.AppendUvarint(b, v.argCount)
	}
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// control is a control frame whose every uvarint is 0 except the one at
// position field (0 seq, 1 id, 2..4 string lengths, 5 service, 6 error
// length, 7 heartbeat, 8 incarnation, 9 code, 10 node count, 11 name
// count), which is v, with nothing after it.
func control(typ byte, field int, v uint64) []byte {
	b := []byte{typ}
	for i := range 12 {
		if i == 10 {
			b = append(b, 0) // the More flag sits before the node count
		}
		if i == field {
			b = binary.AppendUvarint(b, v)
			break
		}
		b = append(b, 0)
	}
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// TestBoundaryLengths: a token holder sends data and control frames whose
// every uvarint field in turn sits on an integer boundary, with no payload
// behind the lengths, to the master and to a slave. Both keep running
// within their memory bound and keep answering calls.
func TestBoundaryLengths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", 0)
	eventually(t, "master ready", 10*time.Second, func() bool { return ready(m) })
	a := e.node(contract.RoleSlave, "a", m.addr, 0)
	eventually(t, "a ready", 10*time.Second, func() bool { return ready(a) })
	calls := newCaller(t, m.addr, "m", "a")
	eventually(t, "calls answered", 10*time.Second, func() bool { return calls.ok.Load() >= 4 })
	calls.bad.Store(0)

	for _, p := range []*proc{m, a} {
		to := lookup(t, calls, p.name)
		echoID := [3]uint64{uint64(to.Node()), uint64(to.Incarnation()), uint64(to.Index())}
		var frames [][]byte
		for _, v := range boundaries {
			// Not KindClose: a Close that decodes stops the service, as a
			// token holder may (docs/security.md).
			for kind := byte(core.KindSend); kind < byte(core.KindClose); kind++ {
				base := envelope{kind: kind, to: echoID, from: [3]uint64{4002, 0, 1}, session: 1, cmd: "echo", cmdLen: 4, withCmd: kind != byte(core.KindReply), withCount: true, argCount: 1}
				for i := range 3 {
					x := base
					x.to[i] = v
					frames = append(frames, x.frame())
					x = base
					x.from[i] = v
					frames = append(frames, x.frame())
				}
				x := base
				x.session = v
				frames = append(frames, x.frame())
				x = base
				x.cmdLen = v
				frames = append(frames, x.frame())
				x = base
				x.argCount = v
				frames = append(frames, x.frame())
			}
			for typ := byte(0x80); typ < 0x8c; typ++ {
				for field := range 12 {
					frames = append(frames, control(typ, field, v))
				}
			}
		}
		for _, kind := range []byte{0, 6, 7, 0x7f, 0x8c, 0xfe, 0xff} {
			frames = append(frames, envelope{kind: kind, to: echoID, withCmd: true, cmd: "echo", cmdLen: 4}.frame())
		}
		t.Run(p.name, func(t *testing.T) {
			flood(t, p, 2, func(int) [][]byte { return frames })
			t.Logf("%d frames sent to %s", len(frames), p.name)
		})
	}

	for _, p := range []*proc{m, a} {
		select {
		case <-p.done:
			t.Fatalf("%s exited", p.name)
		default:
		}
		if r := p.maxRSS.Load(); r > rssBound {
			t.Errorf("%s peaked at %d MiB RSS, bound %d MiB", p.name, r>>20, rssBound>>20)
		}
	}
	before := calls.ok.Load()
	eventually(t, "calls after the frames", 5*time.Second, func() bool { return calls.ok.Load() >= before+4 })
	if bad := calls.bad.Load(); bad != 0 {
		t.Errorf("%d calls failed (last: %v)", bad, calls.lastErr.Load())
	}
}
