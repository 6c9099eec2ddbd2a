package attack

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
)

// Control frames as runtime/cluster/control.go encodes them: type, seq, id,
// name, addr, role, service, err, heartbeat, inc, code, more, nodes, names.
const (
	ctlRegister  = 0x80
	ctlHeartbeat = 0x88
	ctlMore      = 0x8b
)

// controlFrame is a framed control message of type typ with every string
// empty, the More flag more, nodes empty node entries and names empty name
// entries: the smallest encoding of the largest decoded lists.
func controlFrame(typ byte, more bool, nodes, names int) []byte {
	b := []byte{typ, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // seq … code: ten zero uvarints and empty strings
	if more {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(nodes))
	for range nodes {
		b = append(b, 0, 0, 0, 0, 0, 0) // id, name, addr, role, flags, inc
	}
	b = binary.AppendUvarint(b, uint64(names))
	for range names {
		b = append(b, 0, 0) // name, id
	}
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// maxEntries is how many empty node entries fit a frame of the default
// 4 MiB limit: each decodes into a 72-byte NodeEntry.
const maxEntries = (4<<20 - 64) / 6

// TestHostileControl: an authenticated peer (a compromised slave or client
// holding the token) starts a paged control message and never finishes it,
// sending instead frames that decode into large lists, or pages of empty
// names. The node must not hold them all: its RSS stays bounded and it
// keeps answering calls.
func TestHostileControl(t *testing.T) {
	e := newEnv(t)
	m := e.node(contract.RoleMaster, "m", "", 0)
	eventually(t, "master ready", 10*time.Second, func() bool { return ready(m) })
	a := e.node(contract.RoleSlave, "a", m.addr, 0)
	eventually(t, "a ready", 10*time.Second, func() bool { return ready(a) })
	calls := newCaller(t, m.addr, "m", "a")
	eventually(t, "calls answered", 10*time.Second, func() bool { return calls.ok.Load() >= 4 })
	calls.bad.Store(0)

	const frames = 12 // 48 MiB of held messages and of pages, 600 and 576 MiB decoded
	held := func(int) [][]byte {
		out := [][]byte{controlFrame(ctlHeartbeat, true, 0, 0)}
		big := controlFrame(ctlHeartbeat, false, maxEntries, 0)
		for range frames {
			out = append(out, big)
		}
		return out
	}
	pages := func(int) [][]byte {
		out := [][]byte{controlFrame(ctlRegister, true, 0, 0)}
		page := controlFrame(ctlMore, true, 0, 1<<20) // the most names a message may list
		for range 2 * frames {
			out = append(out, page)
		}
		return out
	}
	t.Run("messages held behind an unfinished page, to a slave", func(t *testing.T) { flood(t, a, 1, held) })
	t.Run("messages held behind an unfinished page, to the master", func(t *testing.T) { flood(t, m, 1, held) })
	t.Run("pages of empty names, to a slave", func(t *testing.T) { flood(t, a, 1, pages) })
	t.Run("pages of empty names, to the master", func(t *testing.T) { flood(t, m, 1, pages) })

	// A slave takes control messages from its master only: it holds
	// nothing. The master assembles a registration's pages up to the
	// cluster package's 128 MiB bound (a million names of 100 bytes),
	// up to three times that in RSS with garbage not yet collected.
	t.Run("registrations under many names on one connection", func(t *testing.T) { manyRegistrations(t, m) })
	t.Run("log flood with bad control frames and undecodable sends, to the master", func(t *testing.T) { logFlood(t, calls, m) })

	for _, b := range []struct {
		p     *proc
		bound int64
	}{{a, rssBound}, {m, rssBound + 3*128<<20}} {
		select {
		case <-b.p.done:
			t.Fatalf("%s exited during the attacks", b.p.name)
		default:
		}
		if r := b.p.maxRSS.Load(); r > b.bound {
			t.Errorf("%s peaked at %d MiB RSS, bound %d MiB", b.p.name, r>>20, b.bound>>20)
		} else {
			t.Logf("%s peak RSS %d MiB (bound %d MiB)", b.p.name, r>>20, b.bound>>20)
		}
	}
	before := calls.ok.Load()
	eventually(t, "calls after the attacks", 5*time.Second, func() bool { return calls.ok.Load() >= before+4 })
	if bad := calls.bad.Load(); bad != 0 {
		t.Errorf("%d calls failed during the attacks (last: %v)", bad, calls.lastErr.Load())
	}
}

// logFlood: 20,000 control frames that do not decode and 20,000 Sends
// whose arguments do not decode, from one authenticated connection. Each
// used to write an INFO line (40,000 lines, about 8 MB of log for 200 KB
// sent); the node logs a sample per reason and second instead.
func logFlood(t *testing.T, calls *caller, p *proc) {
	to := lookup(t, calls, p.name)
	before := strings.Count(p.log.String(), "Dropping")
	const n = 20000
	flood(t, p, 1, func(int) [][]byte {
		out := make([][]byte, 0, 2*n)
		send := callFrame(to, 0, arrayArgs(8<<20))
		send[4] = byte(core.KindSend)
		for range n {
			out = append(out, []byte{1, 0, 0, 0, ctlRegister}, send)
		}
		return out
	})
	time.Sleep(time.Second) // let the node read it all
	lines := strings.Count(p.log.String(), "Dropping") - before
	t.Logf("%d log lines for %d bad frames", lines, 2*n)
	if lines > 20 {
		t.Errorf("%d log lines for %d bad frames from one peer, want a sample (at most 20)", lines, 2*n)
	}
}

// registerFrame is a framed CtlRegister of a slave called name.
func registerFrame(name string, inc uint64) []byte {
	b := []byte{ctlRegister, 0, 0} // seq, id
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = append(b, 0, 5) // no address; role
	b = append(b, "slave"...)
	b = append(b, 0, 0, 0) // service, err, heartbeat
	b = binary.AppendUvarint(b, inc)
	b = append(b, 0, 0, 0, 0) // code, more, no nodes, no names
	return append(binary.LittleEndian.AppendUint32(nil, uint32(len(b))), b...)
}

// manyRegistrations: one connection registers 2,000 node names in turn.
// Each used to take a fresh node id (the id space is 65,534), get a welcome
// with the whole node table and be pushed to every node; the master takes
// one registration per connection.
func manyRegistrations(t *testing.T, m *proc) {
	const n = 2000
	flood(t, m, 1, func(int) [][]byte {
		out := make([][]byte, 0, n)
		for i := range n {
			out = append(out, registerFrame(fmt.Sprintf("ghost-%d", i), uint64(i+1)))
		}
		return out
	})
	time.Sleep(500 * time.Millisecond)
	if got := strings.Count(m.log.String(), `"Node registered" name="ghost-`); got > 1 {
		t.Errorf("one connection registered %d node names, want at most one", got)
	}
}
