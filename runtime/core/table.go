package core

import (
	"sync"
	"sync/atomic"
)

const tableShards = 64

// table maps local service ids to services. Each shard is a copy-on-write
// map behind an atomic pointer: a lookup (every Send) is one atomic load and
// a map read with no lock; starting or stopping a service copies one shard.
type table struct {
	shards [tableShards]tableShard
}

type tableShard struct {
	mu sync.Mutex // serialises writers
	m  atomic.Pointer[map[ServiceID]*Service]
	_  [40]byte // keep shards on separate cache lines
}

func (t *table) init() {
	for i := range t.shards {
		m := make(map[ServiceID]*Service)
		t.shards[i].m.Store(&m)
	}
}

func (t *table) shard(id ServiceID) *tableShard { return &t.shards[id.Seq()%tableShards] }

func (t *table) get(id ServiceID) *Service {
	return (*t.shard(id).m.Load())[id]
}

// update replaces a shard's map with a modified copy.
func (sh *tableShard) update(fn func(m map[ServiceID]*Service)) {
	sh.mu.Lock()
	old := *sh.m.Load()
	m := make(map[ServiceID]*Service, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	fn(m)
	sh.m.Store(&m)
	sh.mu.Unlock()
}

func (t *table) put(s *Service) {
	t.shard(s.id).update(func(m map[ServiceID]*Service) { m[s.id] = s })
}

func (t *table) remove(id ServiceID) {
	t.shard(id).update(func(m map[ServiceID]*Service) { delete(m, id) })
}

// each calls fn for every service.
func (t *table) each(fn func(*Service)) {
	for i := range t.shards {
		for _, s := range *t.shards[i].m.Load() {
			fn(s)
		}
	}
}

func (t *table) count() int {
	n := 0
	for i := range t.shards {
		n += len(*t.shards[i].m.Load())
	}
	return n
}
