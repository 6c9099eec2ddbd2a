package chat

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/codec/binary"
	"github.com/lotou-io/lotou/runtime/core"
)

// fakeAgent stands in for a gate agent: it records the pushes it gets.
type fakeAgent struct {
	id     core.ServiceID
	mu     sync.Mutex
	pushes []string
}

func (a *fakeAgent) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.pushes...)
}

func startAgent(t *testing.T, k *core.Core) *fakeAgent {
	t.Helper()
	a := &fakeAgent{}
	s, err := k.Spawn(t.Context(), "", func(s *core.Service) error {
		s.Handle("push", func(cmd string, p []byte) {
			var line string
			switch cmd {
			case "msg":
				var m Msg
				_ = binary.Unmarshal(p, &m)
				line = m.Room + " " + m.User + ": " + m.Text
			case "joined":
				var j Joined
				_ = binary.Unmarshal(p, &j)
				line = j.Room + " +" + j.User
			}
			a.mu.Lock()
			a.pushes = append(a.pushes, line)
			a.mu.Unlock()
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a.id = s.ID()
	return a
}

func enc(t *testing.T, v any) []byte {
	t.Helper()
	b, err := binary.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLobbyAndRooms(t *testing.T) {
	k, err := core.New(core.Options{Node: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = k.Stop(context.Background()) }()
	if err := Start(t.Context(), k); err != nil {
		t.Fatal(err)
	}
	lobby, err := k.Lookup(t.Context(), Lobby)
	if err != nil {
		t.Fatal(err)
	}
	ann, bob := startAgent(t, k), startAgent(t, k)
	call := func(cmd string, a *fakeAgent, user string, payload []byte) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := k.Call(ctx, lobby, cmd, a.id, user, payload)
		return err
	}
	steps := []struct {
		name    string
		cmd     string
		agent   *fakeAgent
		user    string
		payload []byte
		wantErr string
	}{
		{"ann joins", "join", ann, "ann", enc(t, "lobby"), ""},
		{"bob joins", "join", bob, "bob", enc(t, "lobby"), ""},
		{"ann says", "say", ann, "ann", enc(t, &Say{Room: "lobby", Text: "hi"}), ""},
		{"bob says elsewhere", "say", bob, "bob", enc(t, &Say{Room: "other", Text: "x"}), ErrNotMember.Error()},
		{"empty room name", "join", ann, "ann", enc(t, ""), ErrBadRoom.Error()},
		{"garbage payload", "say", ann, "ann", []byte{1}, "say"},
		{"bob leaves", "leave", bob, "bob", enc(t, "lobby"), ""},
		{"ann says again", "say", ann, "ann", enc(t, &Say{Room: "lobby", Text: "alone"}), ""},
	}
	for _, st := range steps {
		err := call(st.cmd, st.agent, st.user, st.payload)
		if st.wantErr == "" && err != nil || st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)) {
			t.Fatalf("%s: err %v, want %q", st.name, err, st.wantErr)
		}
	}
	wantAnn := []string{"lobby +ann", "lobby +bob", "lobby ann: hi", "lobby ann: alone"}
	wantBob := []string{"lobby +bob", "lobby ann: hi"}
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Equal(ann.got(), wantAnn) || !slices.Equal(bob.got(), wantBob) {
		if time.Now().After(deadline) {
			t.Fatalf("ann got %q, want %q; bob got %q, want %q", ann.got(), wantAnn, bob.got(), wantBob)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// A disconnected player's rooms forget it.
	if err := k.Send(lobby, "disconnected", ann.id, "ann"); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for !errors.Is(call("say", ann, "ann", enc(t, &Say{Room: "lobby", Text: "ghost"})), ErrNotMember) {
		if time.Now().After(deadline) {
			t.Fatal("a disconnected player can still talk")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
