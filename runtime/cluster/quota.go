package cluster

import (
	"fmt"

	"github.com/lotou-io/lotou/runtime/core"
)

// Default bounds on the global names one node may hold in the master's
// table (see MasterState.SetNameLimits). A million short names fit; a node
// that registers more, or longer ones, is refused with core.ErrTooLarge
// instead of growing every node's table without bound.
const (
	DefaultMaxNamesPerNode     = 1 << 20
	DefaultMaxNameBytesPerNode = 64 << 20
)

// nameUse is what one node's global names cost.
type nameUse struct {
	count int
	bytes int
}

// SetNameLimits bounds the global names one node may hold: how many, and
// their total length in bytes. Zero or negative keeps the default. The
// master's own services are bounded alike.
func (s *MasterState) SetNameLimits(count, bytes int) {
	if count > 0 {
		s.maxNames = count
	}
	if bytes > 0 {
		s.maxNameBytes = bytes
	}
}

// checkNameRoom reports an error wrapping core.ErrTooLarge if node id may not
// bind one more name of this length.
func (s *MasterState) checkNameRoom(id uint16, name string) error {
	u := s.nameUse[id]
	switch {
	case u.count+1 > s.maxNames:
		return fmt.Errorf("name %q: node %d already holds %d global names, the limit: %w", name, id, u.count, core.ErrTooLarge)
	case u.bytes+len(name) > s.maxNameBytes:
		return fmt.Errorf("name %q: node %d already holds %d bytes of global names, the limit is %d: %w",
			name, id, u.bytes, s.maxNameBytes, core.ErrTooLarge)
	}
	return nil
}

// putName binds name to svc in the table, keeping each node's use.
func (s *MasterState) putName(name string, svc uint64) {
	if old, ok := s.names[name]; ok {
		s.unuse(old, name)
	}
	s.names[name] = svc
	node := uint16(core.ServiceID(svc).Node())
	u := s.nameUse[node]
	u.count++
	u.bytes += len(name)
	s.nameUse[node] = u
}

// dropName removes name from the table, keeping each node's use.
func (s *MasterState) dropName(name string) {
	if old, ok := s.names[name]; ok {
		s.unuse(old, name)
		delete(s.names, name)
	}
}

func (s *MasterState) unuse(svc uint64, name string) {
	node := uint16(core.ServiceID(svc).Node())
	u := s.nameUse[node]
	u.count--
	u.bytes -= len(name)
	if u.count <= 0 {
		delete(s.nameUse, node)
		return
	}
	s.nameUse[node] = u
}
