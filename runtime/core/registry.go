package core

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// IsLocalName reports whether name is local to its node (starts with ".").
func IsLocalName(name string) bool { return strings.HasPrefix(name, ".") }

// LocalRegistry is the in-memory Registry of a standalone node. It is safe
// for concurrent use. OnChange, if set before use, is told of every change
// (the core sets it to Publish for its built-in registry).
type LocalRegistry struct {
	mu    sync.Mutex
	names map[string]ServiceID
	// OnChange is called, outside the lock, after each successful change.
	OnChange func(Event)
}

// NewLocalRegistry returns an empty LocalRegistry.
func NewLocalRegistry() *LocalRegistry {
	return &LocalRegistry{names: make(map[string]ServiceID)}
}

// Register binds name to id; a name held by another id is refused.
func (r *LocalRegistry) Register(_ context.Context, name string, id ServiceID) error {
	r.mu.Lock()
	if old, ok := r.names[name]; ok && old != id {
		r.mu.Unlock()
		return fmt.Errorf("registering %q: held by %v: %w", name, old, ErrNameTaken)
	}
	r.names[name] = id
	r.mu.Unlock()
	if r.OnChange != nil {
		r.OnChange(Event{Type: EventNameAdded, Name: name, ID: id, Node: id.Node()})
	}
	return nil
}

// Unregister releases name if it is held by id; otherwise it does nothing.
func (r *LocalRegistry) Unregister(_ context.Context, name string, id ServiceID) error {
	r.mu.Lock()
	old, ok := r.names[name]
	if !ok || old != id {
		r.mu.Unlock()
		return nil
	}
	delete(r.names, name)
	r.mu.Unlock()
	if r.OnChange != nil {
		r.OnChange(Event{Type: EventNameRemoved, Name: name, ID: id, Node: id.Node()})
	}
	return nil
}

// Lookup returns the id holding name.
func (r *LocalRegistry) Lookup(_ context.Context, name string) (ServiceID, error) {
	r.mu.Lock()
	id, ok := r.names[name]
	r.mu.Unlock()
	if !ok {
		return 0, fmt.Errorf("looking up %q: %w", name, ErrServiceNotFound)
	}
	return id, nil
}
