package browser

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/examples/chat/chat"
	"github.com/lotou-io/lotou/runtime/codec/binary"
	"github.com/lotou-io/lotou/runtime/contract"
	"github.com/lotou-io/lotou/runtime/gate"
	"github.com/lotou-io/lotou/runtime/gate/client"
)

// player is a Go chat client that records the messages pushed to it.
type player struct {
	c    *client.Client
	mu   sync.Mutex
	msgs []string
}

func join(t *testing.T, addr, name, room string) *player {
	t.Helper()
	p := &player{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, addr, client.Options{Credentials: []byte(name), OnPush: func(cmd string, b []byte) {
		var m chat.Msg
		if cmd == "msg" && binary.Unmarshal(b, &m) == nil {
			p.mu.Lock()
			p.msgs = append(p.msgs, m.User+": "+m.Text)
			p.mu.Unlock()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p.c = c
	rb, _ := binary.Marshal(room)
	if _, err := c.Call(ctx, "join", rb); err != nil {
		t.Fatalf("%s joining %s: %v", name, room, err)
	}
	return p
}

func (p *player) say(t *testing.T, room, text string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, _ := binary.Marshal(&chat.Say{Room: room, Text: text})
	if _, err := p.c.Call(ctx, "say", b); err != nil {
		t.Fatalf("say %q: %v", text, err)
	}
}

// sessions reads each node's gate sessions from a node's /cluster.
func sessions(t *testing.T, httpAddr string) map[string]int {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + contract.PathCluster)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var v contract.ClusterView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, n := range v.Nodes {
		out[n.Name] = n.Sessions
	}
	return out
}

func (p *player) has(line string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.msgs, line)
}

// TestChatGoClients: two players on the gates of two different slaves join
// one room (living on one of them), see each other's messages; a third
// sends garbage and is cut off with a reason while the others carry on.
func TestChatGoClients(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	cl := startCluster(t, 2)
	ann := join(t, cl.slaves[0].gate, "ann", "lobby")
	bob := join(t, cl.slaves[1].gate, "bob", "lobby")
	// The master's /cluster counts each slave's gate clients.
	eventually(t, "sessions per node on the master's /cluster", func() bool {
		s := sessions(t, cl.master.http)
		return s["slave-0"] == 1 && s["slave-1"] == 1 && s["master"] == 0
	})
	ann.say(t, "lobby", "hello from ann")
	bob.say(t, "lobby", "hi from bob")
	for _, p := range []*player{ann, bob} {
		eventually(t, "both messages on both clients", func() bool { return p.has("ann: hello from ann") && p.has("bob: hi from bob") })
	}
	eve := join(t, cl.slaves[0].gate, "eve", "lobby")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := eve.c.WriteRaw(ctx, []byte{0xde, 0xad, 0xbe, 0xef}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-eve.c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("eve not disconnected")
	}
	var ge *client.Error
	if !errors.As(eve.c.Err(), &ge) || ge.Code != gate.CodeMalformed {
		t.Fatalf("eve closed with %v, want %q", eve.c.Err(), gate.CodeMalformed)
	}
	ann.say(t, "lobby", "still here")
	eventually(t, "the others carry on", func() bool { return bob.has("ann: still here") })
}
