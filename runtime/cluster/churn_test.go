package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/core"
	"github.com/lotou-io/lotou/runtime/transport"
)

// leave runs the node's two-phase graceful leave, as runtime/node does on
// SIGTERM: drain, stop the core, flush, leave, close.
func (n *testNode) leave(d time.Duration) {
	n.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		dctx, dcancel := context.WithTimeout(ctx, 4*testHB)
		n.cl.Drain(dctx)
		dcancel()
		if err := n.core.Stop(ctx); err != nil {
			n.t.Errorf("stopping core: %v", err)
		}
		n.cl.Flush(ctx)
		n.cl.Leave()
		n.cancel()
		if err := <-n.done; err != nil {
			n.t.Errorf("Run: %v", err)
		}
		_ = n.cl.Close(ctx)
	})
}

// TestTwoPhaseLeave: Calls queued on b when it is stopped all run and all
// callers get their replies; new Calls to b fail fast with ErrNodeDraining
// (they are not run), and its names are no longer handed out.
func TestTwoPhaseLeave(t *testing.T) {
	_, a, b := cluster3(t)
	release := make(chan struct{})
	ran := make(chan int, 10)
	if _, err := b.core.Spawn(context.Background(), "work", func(s *core.Service) error {
		s.Handle("do", func(i int) int {
			<-release
			ran <- i
			return i * 10
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a learns work", time.Second, func() bool { return a.knows("work") })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := a.core.Lookup(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		i   int
		ret []any
		err error
	}
	results := make(chan result, 3)
	for i := 1; i <= 3; i++ {
		go func() {
			ret, err := a.core.Call(ctx, id, "do", i)
			results <- result{i, ret, err}
		}()
	}
	eventually(t, "three calls reach b", 2*time.Second, func() bool { return b.cl.Stats().In[core.KindCall].Load() >= 3 })
	left := make(chan struct{})
	go func() {
		defer close(left)
		b.leave(5 * time.Second)
	}()
	eventually(t, "a learns b drains", 2*time.Second, func() bool {
		a.cl.mu.Lock()
		defer a.cl.mu.Unlock()
		return a.cl.view.Draining(uint16(b.cl.ID()))
	})
	if _, err := a.core.Call(ctx, id, "do", 99); !errors.Is(err, core.ErrNodeDraining) {
		t.Errorf("new call to a draining node: %v, want ErrNodeDraining", err)
	}
	if _, err := a.core.Lookup(ctx, "work"); !errors.Is(err, core.ErrNodeDraining) {
		t.Errorf("lookup of a draining node's name: %v, want ErrNodeDraining", err)
	}
	if _, err := b.core.Lookup(ctx, "work"); err != nil {
		t.Errorf("the draining node's own lookup of its name: %v, want it found", err)
	}
	close(release)
	for range 3 {
		r := <-results
		if r.err != nil || len(r.ret) != 1 || fmt.Sprint(r.ret[0]) != fmt.Sprint(r.i*10) {
			t.Errorf("call %d queued before the leave: %v %v, want its reply", r.i, r.ret, r.err)
		}
	}
	<-left
	close(ran)
	var executed []int
	for i := range ran {
		executed = append(executed, i)
	}
	if len(executed) != 3 {
		t.Errorf("executed %v, want the three accepted calls only", executed)
	}
	eventually(t, "b gone from a's table", 2*time.Second, func() bool { return len(a.upNodes()) == 2 })
}

// TestDrainingSlaveAnswersMasterAfterLinkCloses: a slave answers the
// master's Calls on its registration connection, not on the link the master
// dialled to it, so a leaving slave's replies may still be in flight there
// when the master sees that link close. The Calls must wait for them, not
// fail with ErrNodeDown (as they did in about one run in ten under -race of
// runtime/node's TestStopIsTwoPhaseLeave).
func TestDrainingSlaveAnswersMasterAfterLinkCloses(t *testing.T) {
	m, _, b := cluster3(t)
	release := make(chan struct{})
	if _, err := b.core.Spawn(context.Background(), "work", func(s *core.Service) error {
		s.Handle("do", func(i int) int {
			<-release
			return i + 1
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "m learns work", time.Second, func() bool { return m.knows("work") })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, err := m.core.Lookup(ctx, "work")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		ret []any
		err error
	}
	res := make(chan result, 1)
	go func() {
		ret, err := m.core.Call(ctx, id, "do", 41)
		res <- result{ret, err}
	}()
	eventually(t, "the call reaches b", 2*time.Second, func() bool { return b.cl.Stats().In[core.KindCall].Load() >= 1 })
	dctx, dcancel := context.WithTimeout(ctx, 2*time.Second)
	b.cl.Drain(dctx)
	dcancel()
	eventually(t, "m learns b drains", 2*time.Second, func() bool {
		m.cl.mu.Lock()
		defer m.cl.mu.Unlock()
		return m.cl.view.Draining(uint16(b.cl.ID()))
	})
	closed := 0
	for _, p := range m.cl.tr.Peers() {
		if conn := p.Conn(); conn != nil && conn.Remote().ID == uint16(b.cl.ID()) {
			p.Close() // as when b closes its links: m's own link to b is gone first
			<-conn.Done()
			closed++
		}
	}
	if closed == 0 {
		t.Fatal("m has no link of its own to b: the case is not set up")
	}
	close(release)
	r := <-res
	if r.err != nil || len(r.ret) != 1 || fmt.Sprint(r.ret[0]) != "42" {
		t.Fatalf("call accepted before b drained: %v %v, want its reply 42", r.ret, r.err)
	}
}

// TestDuplicateNodeName: a second process with a live node's name is
// refused with ErrDuplicateName; the live one keeps its name and names,
// with no flapping.
func TestDuplicateNodeName(t *testing.T) {
	m, a, _ := cluster3(t)
	_, err := tryStartNode(t, contract.RoleSlave, "a", "127.0.0.1:0", m.cl.Addr())
	if !errors.Is(err, ErrDuplicateName) {
		t.Fatalf("second node named a: %v, want ErrDuplicateName", err)
	}
	aID := a.cl.ID()
	for range 5 { // several heartbeats: nothing moves
		time.Sleep(testHB)
		if !a.cl.Ready() || a.cl.ID() != aID || !m.knows("echo:a") || len(m.upNodes()) != 3 {
			t.Fatalf("the live node lost its place: ready %v id %d names %v nodes %v", a.cl.Ready(), a.cl.ID(), m.cl.Names(), m.upNodes())
		}
	}
	if _, err := a.call("echo:b", 1); err != nil {
		t.Fatal(err)
	}
}

// TestMasterDuplicateRule is the rule in the state machine: the live,
// connected incarnation keeps the name; a newcomer takes over only from one
// that lost its connection or fell silent, and the old one is then refused.
func TestMasterDuplicateRule(t *testing.T) {
	withInc := func(c *Control, inc uint64) *Control { c.Inc = inc; return c }
	tests := []struct {
		name    string
		prepare func(s *MasterState) // after a (incarnation 1) registered at t0
		at      time.Duration
		req     *Control
		refused bool
	}{
		{"live namesake refused", nil, time.Second, withInc(reg("a", 0), 2), true},
		{"same incarnation re-registers", nil, time.Second, withInc(reg("a", 2), 1), false},
		{"a client named like a live node refused", nil, time.Second, func() *Control { c := withInc(reg("a", 0), 2); c.Role = RoleClient; return c }(), true},
		{"a client's name is taken over", func(s *MasterState) {
			c := withInc(reg("ctl", 0), 5)
			c.Role = RoleClient
			s.Register(t0, c)
		}, time.Second, withInc(reg("ctl", 0), 6), false},
		{"connection lost: newcomer wins", func(s *MasterState) { s.ConnLost(t0, 2) }, time.Second, withInc(reg("a", 0), 2), false},
		{"silent: newcomer wins", nil, timeout + time.Second, withInc(reg("a", 0), 2), false},
		{"old one back after newcomer won", func(s *MasterState) {
			s.ConnLost(t0, 2)
			s.Register(t0.Add(time.Second), withInc(reg("a", 0), 2))
		}, 2 * time.Second, withInc(reg("a", 2), 1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewMasterState(NodeEntry{Name: "m"}, timeout)
			if id, _ := s.Register(t0, withInc(reg("a", 0), 1)); id != 2 {
				t.Fatalf("first a got id %d", id)
			}
			if tt.prepare != nil {
				tt.prepare(s)
			}
			id, outs := s.Register(t0.Add(tt.at), tt.req)
			if refused := id == 0; refused != tt.refused {
				t.Fatalf("refused = %v (%v), want %v", refused, types(outs), tt.refused)
			}
			if tt.refused && (outs[0].Msg.Type != CtlRefuse || outs[0].Msg.Code != RefuseDuplicate) {
				t.Fatalf("refusal %+v, want CtlRefuse with RefuseDuplicate", outs[0].Msg)
			}
		})
	}
}

// TestMasterStallSuspectsItself: a master that did not tick for longer
// than the timeout does not declare every node down on its first tick
// back; a node that stays silent afterwards is still declared down.
func TestMasterStallSuspectsItself(t *testing.T) {
	s := NewMasterState(NodeEntry{Name: "m"}, timeout)
	a, _ := s.Register(t0, reg("a", 0))
	b, _ := s.Register(t0, reg("b", 0))
	s.Tick(t0.Add(10 * time.Millisecond))
	back := t0.Add(10 * time.Second) // stalled for 10s, timeout is 3s
	if outs := s.Tick(back); len(outs) != 0 {
		t.Fatalf("first tick after a stall: %v, want nothing", types(outs))
	}
	s.Heartbeat(back.Add(time.Second), a)
	for at := back; at.Before(back.Add(2 * timeout)); at = at.Add(100 * time.Millisecond) {
		s.Heartbeat(at, a)
		s.Tick(at)
	}
	if m, _ := s.Member(a); !m.Up {
		t.Fatal("a heartbeating after the stall was declared down")
	}
	if m, _ := s.Member(b); m.Up {
		t.Fatal("b silent after the stall is still up")
	}
}

// TestEarlyRegisterBeforeMasterState: a registration reaching a master
// whose state is not built yet is ignored, not a nil dereference.
func TestEarlyRegisterBeforeMasterState(t *testing.T) {
	cl, err := New(Options{Role: contract.RoleMaster, Name: "m", Listen: "127.0.0.1:0", Token: []byte("t"), Codec: codec.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	frame := appendControl(nil, &Control{Type: CtlRegister, Name: "early", Addr: "x:1", Role: "slave"})
	cl.HandleFrame(nil, frame) // must not panic
	_ = cl.Close(context.Background())
}

// TestLargeNameTable: a million global names reach a joining node in pages,
// each within the transport's frame limit; names the wire cannot carry are
// refused at the sender.
func TestLargeNameTable(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 300_000 // still above the ~190k that used to overflow one frame
	}
	// The master's welcome to a joining node, with the whole table.
	welcome := &Control{Type: CtlWelcome, ID: 2, Nodes: []NodeEntry{{ID: MasterID, Name: "m", Up: true}}}
	welcome.Names = make([]NameEntry, n)
	for i := range welcome.Names {
		welcome.Names[i] = NameEntry{Name: fmt.Sprintf("player-%07d", i), ID: uint64(core.MakeIncID(core.NodeID(MasterID), 1000, uint32(i+1)))}
	}
	frames, err := encodeControl(welcome)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) < 2 {
		t.Fatalf("a table of %d names went in %d frame", n, len(frames))
	}
	var asm assembler
	var got []*Control
	for i, f := range frames {
		if len(f) > transport.DefaultMaxFrame {
			t.Fatalf("frame %d is %d bytes, above the %d limit", i, len(f), transport.DefaultMaxFrame)
		}
		m, err := decodeControl(f)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got, err = asm.add(m); err != nil {
			t.Fatal(err)
		}
		if i == 1 { // a push queued behind the first page waits for the last
			if held, err := asm.add(&Control{Type: CtlNameAdd, Name: "late", Service: 1}); err != nil || held != nil {
				t.Fatalf("message between pages: %v %v, want held", held, err)
			}
		}
		if (got != nil) != (i == len(frames)-1) {
			t.Fatalf("frame %d of %d: complete = %v", i, len(frames), got != nil)
		}
	}
	if len(got) != 2 || got[0].Type != CtlWelcome || got[1].Name != "late" {
		t.Fatalf("assembled %d messages, want the welcome then the held push", len(got))
	}
	v := NewView()
	v.Apply(got[0])
	if v.names.size != n {
		t.Fatalf("view has %d names, want %d", v.names.size, n)
	}
	if _, err := encodeControl(&Control{Type: CtlNameAdd, Name: strings.Repeat("x", MaxNameLen+1)}); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("encoding a name above the limit: %v, want ErrTooLarge", err)
	}
}

// TestRegisterLimitsAndBound: Register refuses a name the wire cannot carry
// at once, and a registration whose answer never comes is bounded even with
// a ctx without deadline.
func TestRegisterLimitsAndBound(t *testing.T) {
	m, a, _ := cluster3(t)
	long := strings.Repeat("n", MaxNameLen+1)
	if _, err := a.core.Spawn(context.Background(), long, func(*core.Service) error { return nil }); !errors.Is(err, core.ErrTooLarge) {
		t.Fatalf("spawning with a %d-byte name: %v, want ErrTooLarge", len(long), err)
	}
	a.cl.opts.RegisterTimeout = 300 * time.Millisecond
	m.crash()
	eventually(t, "a notices", time.Second, func() bool { return !a.cl.Ready() })
	done := make(chan error, 1)
	go func() {
		_, err := a.core.Spawn(context.Background(), "orphan", func(*core.Service) error { return nil })
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, core.ErrCallTimeout) {
			t.Fatalf("spawn with a lost ack: %v, want ErrCallTimeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Spawn(context.Background()) blocked on an ack that never comes")
	}
}

// TestStaleIDAfterMasterRestart: an id cached before the master restarted
// does not reach the new master's service that got the same counter: the
// caller gets ErrStaleID.
func TestStaleIDAfterMasterRestart(t *testing.T) {
	m, a, _ := cluster3(t)
	if _, err := m.core.Spawn(context.Background(), "bank", func(s *core.Service) error {
		s.Handle("who", func() string { return "bank" })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a learns bank", time.Second, func() bool { return a.knows("bank") })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	bank, err := a.core.Lookup(ctx, "bank")
	if err != nil {
		t.Fatal(err)
	}
	addr := m.cl.Addr()
	m.crash()
	eventually(t, "a notices", time.Second, func() bool { return !a.cl.Ready() })
	m2 := startNode(t, contract.RoleMaster, "m", addr, "")
	// The new master's first services get the same counters as the old.
	for i := range 3 {
		if _, err := m2.core.Spawn(context.Background(), fmt.Sprintf(".chat%d", i), func(s *core.Service) error {
			s.Handle("who", func() string { return "chat" })
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "a back", 5*time.Second, func() bool { return a.cl.Ready() })
	ret, err := a.core.Call(ctx, bank, "who")
	if !errors.Is(err, core.ErrStaleID) {
		t.Fatalf("call to the old master's bank: %v %v, want ErrStaleID", ret, err)
	}
}

// TestUndecodableCallAnswered: a Call whose arguments do not decode gets an
// error reply at once; a Send is counted as dropped.
func TestUndecodableCallAnswered(t *testing.T) {
	_, a, b := cluster3(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	echoB, err := a.core.Lookup(ctx, "echo:b")
	if err != nil {
		t.Fatal(err)
	}
	// Warm the a→b link so the reply has a way back.
	if _, err := a.core.Call(ctx, echoB, "echo", 1); err != nil {
		t.Fatal(err)
	}
	call := core.Message{Kind: core.KindCall, From: a.core.ID(), To: echoB, Session: 1 << 40, Cmd: "echo"}
	payload, err := appendMessage(nil, &call, newCodec())
	if err != nil {
		t.Fatal(err)
	}
	payload = append(payload, 0xff, 0xff, 0xff, 0xff, 0xff) // arguments that do not decode
	repliesBefore := a.cl.Stats().In[core.KindReply].Load()
	b.cl.HandleFrame(nil, payload)
	eventually(t, "error reply back at a", 2*time.Second, func() bool {
		return a.cl.Stats().In[core.KindReply].Load() > repliesBefore
	})
	send := core.Message{Kind: core.KindSend, From: a.core.ID(), To: echoB, Cmd: "echo"}
	payload, err = appendMessage(nil, &send, newCodec())
	if err != nil {
		t.Fatal(err)
	}
	payload = append(payload, 0xff, 0xff, 0xff, 0xff, 0xff)
	before := b.core.Drops(core.DropDecode)
	b.cl.HandleFrame(nil, payload)
	if b.core.Drops(core.DropDecode) != before+1 {
		t.Fatal("undecodable Send not counted")
	}
}

// TestRestartedMasterKeepsDeadNodesIDs: a restarted master does not hand
// out the id of a slave that died before the restart while the others may
// still hold ids of it (they list it down for the retention).
func TestRestartedMasterKeepsDeadNodesIDs(t *testing.T) {
	s := restarted()
	dead := NodeEntry{ID: 4, Name: "c", Up: false, Role: "slave"}
	if id, _ := s.Register(t0, rereg("a", 2, oldB, dead)); id != 2 {
		t.Fatalf("a got %d", id)
	}
	after := t0.Add(2*timeout + time.Second) // past the recovery window
	s.Tick(after)
	for i := range 10 {
		id, _ := s.Register(after, reg(fmt.Sprintf("new%d", i), 0))
		if id == dead.ID {
			t.Fatalf("newcomer %d got the dead node's id %d", i, id)
		}
	}
}

// TestPagedRegistration: a slave holding more names than fit one frame
// re-registers in pages, and the master's welcome comes back in pages.
func TestPagedRegistration(t *testing.T) {
	slow := func(o *Options) { o.Heartbeat = time.Second } // tens of thousands of names take a while on a busy machine
	m := startNode(t, contract.RoleMaster, "m", "127.0.0.1:0", "", slow)
	a := startNode(t, contract.RoleSlave, "a", "127.0.0.1:0", m.cl.Addr(), slow)
	eventually(t, "a joined", 5*time.Second, func() bool { return a.knows("echo:m") && m.knows("echo:a") })
	const n = 20_000 // two pages of PageBytes
	a.cl.mu.Lock()
	for i := range n {
		a.cl.owned[fmt.Sprintf("paged-name-%06d", i)] = uint64(core.MakeIncID(a.cl.ID(), a.cl.Incarnation(), uint32(1_000_000+i)))
	}
	conn := a.cl.master.Conn()
	a.cl.mu.Unlock()
	conn.Close() // the reconnect registers again, with every owned name
	eventually(t, "the master has every name", 10*time.Second, func() bool { return len(m.cl.Names()) >= n })
	eventually(t, "a's welcome has every name", 10*time.Second, func() bool { return len(a.cl.Names()) >= n && a.cl.Ready() })
	if _, err := a.call("echo:m", 1); err != nil {
		t.Fatal(err)
	}
}

// TestStalledSlaveSuspectsItself: a slave whose own ticks stopped for
// longer than the timeout does not drop its master link on its first tick
// back.
func TestStalledSlaveSuspectsItself(t *testing.T) {
	_, a, _ := cluster3(t)
	a.cl.mu.Lock()
	now := time.Now()
	a.cl.lastTick, a.cl.masterSeen = now, now
	conn := a.cl.master.Conn()
	a.cl.mu.Unlock()
	a.cl.slaveTick(now.Add(10*contract.MissedHeartbeats*testHB), false)
	if conn.Err() != nil {
		t.Fatalf("first tick after a stall closed the master link: %v", conn.Err())
	}
}
