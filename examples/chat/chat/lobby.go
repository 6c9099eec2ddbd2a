package chat

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/lotou-io/lotou/runtime/codec/binary"
	"github.com/lotou-io/lotou/runtime/core"
)

// Lobby is the node-local name of the lobby, the gate's game service.
const Lobby = ".chat"

// MaxText bounds one chat message in bytes.
const MaxText = 1000

// ErrBadRoom is the reply to a room name that is empty, too long or not UTF-8.
var ErrBadRoom = errors.New("room names are 1 to 32 bytes of UTF-8")

// Say is the payload of the "say" call.
type Say struct {
	Room, Text string
}

// lobby is one node's lobby state, owned by its service goroutine.
type lobby struct {
	k      *core.Core
	rooms  map[string]core.ServiceID          // room name -> room service
	joined map[core.ServiceID]map[string]bool // agent -> rooms joined
}

// Start starts the lobby on k: the node.App Start hook of the chat game.
func Start(ctx context.Context, k *core.Core) error {
	l := &lobby{k: k, rooms: map[string]core.ServiceID{}, joined: map[core.ServiceID]map[string]bool{}}
	_, err := k.Spawn(ctx, Lobby, func(s *core.Service) error {
		s.Handle("join", l.join)
		s.Handle("say", l.say)
		s.Handle("leave", l.leave)
		s.Handle("disconnected", l.disconnected)
		return nil
	}, core.WithMailboxSize(64<<10))
	if err != nil {
		return fmt.Errorf("starting the chat lobby: %w", err)
	}
	return nil
}

func roomName(b []byte) (string, error) {
	var name string
	if err := binary.Unmarshal(b, &name); err != nil || name == "" || len(name) > 32 || !utf8.ValidString(name) {
		return "", ErrBadRoom
	}
	return name, nil
}

func (l *lobby) join(c *core.Context, agent core.ServiceID, user string, payload []byte) error {
	name, err := roomName(payload)
	if err != nil {
		return err
	}
	id, err := l.room(c, name)
	if err != nil {
		return err
	}
	// A call: once the player is told it joined, the room has it. (Say is
	// one-way, so a busy lobby does not nest calls.)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := c.Call(ctx, id, "join", agent, user); err != nil {
		l.forget(name, err)
		return err
	}
	if l.joined[agent] == nil {
		l.joined[agent] = map[string]bool{}
	}
	l.joined[agent][name] = true
	return nil
}

// say is acknowledged once the message is on its way to the room (queued
// in its mailbox, or on the link to its node, which a leaving node still
// flushes).
func (l *lobby) say(c *core.Context, agent core.ServiceID, user string, payload []byte) error {
	var m Say
	if err := binary.Unmarshal(payload, &m); err != nil {
		return fmt.Errorf("say: %w", err)
	}
	if len(m.Text) > MaxText || !utf8.ValidString(m.Text) {
		return fmt.Errorf("say: at most %d bytes of UTF-8", MaxText)
	}
	if !l.joined[agent][m.Room] {
		return ErrNotMember
	}
	id, err := l.room(c, m.Room)
	if err != nil {
		return err
	}
	if err := c.Send(id, "say", agent, user, m.Text); err != nil {
		l.forget(m.Room, err)
		return err
	}
	return nil
}

func (l *lobby) leave(c *core.Context, agent core.ServiceID, _ string, payload []byte) error {
	name, err := roomName(payload)
	if err != nil {
		return err
	}
	delete(l.joined[agent], name)
	if id, ok := l.rooms[name]; ok {
		_ = c.Send(id, "leave", agent)
	}
	return nil
}

func (l *lobby) disconnected(c *core.Context, agent core.ServiceID, _ string) {
	for name := range l.joined[agent] {
		if id, ok := l.rooms[name]; ok {
			_ = c.Send(id, "leave", agent)
		}
	}
	delete(l.joined, agent)
}

// room finds the room's service, starting it on this node when no node
// has it: rooms spread over the nodes their first players use. A name the
// node has not heard of would make Lookup wait for the master, so an
// unknown room is registered at once and looked up only if another node
// was faster.
func (l *lobby) room(c *core.Context, name string) (core.ServiceID, error) {
	if id, ok := l.rooms[name]; ok {
		return id, nil
	}
	quick, cancel := context.WithTimeout(context.Background(), knownLookup)
	id, err := c.Lookup(quick, RoomPrefix+name)
	cancel()
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		s, serr := startRoom(ctx, l.k, name)
		switch {
		case serr == nil:
			id = s.ID()
		case errors.Is(serr, core.ErrNameTaken): // another node was faster
			if id, err = c.Lookup(ctx, RoomPrefix+name); err != nil {
				return 0, err
			}
		default:
			return 0, serr
		}
	}
	l.rooms[name] = id
	return id, nil
}

// forget drops a room whose node has gone, so the next join recreates it.
func (l *lobby) forget(name string, err error) {
	if errors.Is(err, core.ErrNodeDown) || errors.Is(err, core.ErrServiceNotFound) || errors.Is(err, core.ErrStopped) {
		delete(l.rooms, name)
	}
}

// callTimeout bounds starting a room; knownLookup is how long the lobby
// asks for a room name before creating the room.
const (
	callTimeout = 3 * time.Second
	knownLookup = 20 * time.Millisecond
)
