// Package chat is the sample game of examples/chat, written the way a game
// team writes theirs: chat rooms are global services ("room:<name>") spread
// over the slaves — a room lives on the node of its first player — and
// every node runs a lobby (".chat", the gate's game service) that players
// reach through any node's gate. The lobby forwards joins and messages to
// the rooms, which push every message to every member's agent, wherever it
// is connected.
//
// Client commands (payloads in the "binary" codec, strings are a uint32 LE
// length then UTF-8):
//
//	call "join"  Room string          -> reply empty; push "joined" to the room
//	call "say"   Room, Text string    -> reply empty once sent to the room (one-way)
//	call "leave" Room string          -> reply empty
//	push "msg"    Room, User, Text string
//	push "joined" Room, User string
//
// Web serves the /play page and its script.
package chat
