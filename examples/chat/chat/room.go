package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/lotou-io/lotou/runtime/codec/binary"
	"github.com/lotou-io/lotou/runtime/core"
)

// RoomPrefix starts the global name of every room.
const RoomPrefix = "room:"

// MaxMembers bounds one room.
const MaxMembers = 10000

// ErrNotMember is the reply to a message from a player who did not join.
var ErrNotMember = errors.New("not in this room")

// Msg is the payload of the "msg" push.
type Msg struct {
	Room, User, Text string
}

// Joined is the payload of the "joined" push.
type Joined struct {
	Room, User string
}

// room is one chat room's state, owned by its service goroutine.
type room struct {
	name    string
	members map[core.ServiceID]string // agent -> user
}

// startRoom starts the room service "room:<name>" on k.
func startRoom(ctx context.Context, k *core.Core, name string) (*core.Service, error) {
	r := &room{name: name, members: map[core.ServiceID]string{}}
	return k.Spawn(ctx, RoomPrefix+name, func(s *core.Service) error {
		s.Handle("join", r.join)
		s.Handle("say", r.say)
		s.Handle("leave", func(agent core.ServiceID) { delete(r.members, agent) })
		return nil
	})
}

func (r *room) join(c *core.Context, agent core.ServiceID, user string) error {
	if _, ok := r.members[agent]; !ok && len(r.members) >= MaxMembers {
		return fmt.Errorf("room %s is full", r.name)
	}
	r.members[agent] = user
	b, err := binary.Marshal(&Joined{Room: r.name, User: user})
	if err != nil {
		return err
	}
	r.broadcast(c, "joined", b)
	return nil
}

// say broadcasts a member's message; the lobby checked membership, so a
// stranger's message (a member that left meanwhile) is dropped.
func (r *room) say(c *core.Context, agent core.ServiceID, user, text string) error {
	if _, ok := r.members[agent]; !ok {
		return ErrNotMember
	}
	b, err := binary.Marshal(&Msg{Room: r.name, User: user, Text: text})
	if err != nil {
		return err
	}
	r.broadcast(c, "msg", b)
	return nil
}

// broadcast pushes to every member's agent; agents that are gone are
// forgotten.
func (r *room) broadcast(c *core.Context, cmd string, payload []byte) {
	for agent := range r.members {
		if err := c.Send(agent, "push", cmd, payload); err != nil &&
			(errors.Is(err, core.ErrServiceNotFound) || errors.Is(err, core.ErrNodeDown)) {
			delete(r.members, agent)
		}
	}
}
