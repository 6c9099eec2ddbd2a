package cluster

import (
	"hash/maphash"
	"math/bits"
	"slices"
)

// nameTable is an immutable map from global name to service id, the
// snapshot a View publishes for lock-free lookups. It is a hash array
// mapped trie: 32-way nodes indexed by 5 bits of the name's hash at a time,
// each holding only the slots in use (a bitmap says which). A change copies
// the nodes on the path to the name — O(log32 n), 4 or 5 nodes at a million
// names — never the whole table, and the old snapshot stays valid for the
// readers still walking it.
//
// Within one edit generation (a View batch: one applied control message)
// the nodes created by that batch are changed in place, so a burst of names
// in one message copies each path at most once.
type nameTable struct {
	root *hamtNode
	size int
	seed maphash.Seed
}

// hamtNode is one trie node. Below the last 5-bit level (shift >= 64) a node
// is a collision list: names whose 64-bit hashes are all equal, in slots.
type hamtNode struct {
	bitmap uint32
	edit   uint64 // generation that created it; only that generation changes it
	slots  []hamtSlot
}

// hamtSlot is either a child node (sub != nil) or a name (a leaf).
type hamtSlot struct {
	sub  *hamtNode
	hash uint64
	name string
	svc  uint64
}

const hamtBits = 5

func hamtBit(h uint64, shift uint) uint32 { return 1 << ((h >> shift) & (1<<hamtBits - 1)) }

func (n *hamtNode) index(bit uint32) int { return bits.OnesCount32(n.bitmap & (bit - 1)) }

// lookup returns the service holding name. Safe for any number of
// concurrent readers: the table never changes once published.
func (t *nameTable) lookup(name string) (uint64, bool) {
	if t == nil {
		return 0, false
	}
	return hamtGet(t.root, maphash.String(t.seed, name), name)
}

// hamtGet finds name (hash h) under n.
func hamtGet(n *hamtNode, h uint64, name string) (uint64, bool) {
	for shift := uint(0); n != nil; shift += hamtBits {
		if shift >= 64 {
			for i := range n.slots {
				if n.slots[i].name == name {
					return n.slots[i].svc, true
				}
			}
			return 0, false
		}
		bit := hamtBit(h, shift)
		if n.bitmap&bit == 0 {
			return 0, false
		}
		s := &n.slots[n.index(bit)]
		if s.sub == nil {
			if s.hash == h && s.name == name {
				return s.svc, true
			}
			return 0, false
		}
		n = s.sub
	}
	return 0, false
}

// each calls fn for every name under n, in no particular order.
func (n *hamtNode) each(fn func(name string, svc uint64)) {
	if n == nil {
		return
	}
	for i := range n.slots {
		if s := &n.slots[i]; s.sub != nil {
			s.sub.each(fn)
		} else {
			fn(s.name, s.svc)
		}
	}
}

// own returns n itself if generation gen created it, else a copy made by
// gen (with room for one more slot).
func (n *hamtNode) own(gen uint64) *hamtNode {
	if n.edit == gen {
		return n
	}
	c := &hamtNode{bitmap: n.bitmap, edit: gen, slots: make([]hamtSlot, len(n.slots), len(n.slots)+1)}
	copy(c.slots, n.slots)
	return c
}

// hamtSet returns the node that results from binding leaf.name to leaf.svc
// under n, and the previous binding.
func hamtSet(n *hamtNode, gen uint64, shift uint, leaf hamtSlot) (out *hamtNode, old uint64, had bool) {
	if n == nil {
		if shift >= 64 {
			return &hamtNode{edit: gen, slots: []hamtSlot{leaf}}, 0, false
		}
		return &hamtNode{bitmap: hamtBit(leaf.hash, shift), edit: gen, slots: []hamtSlot{leaf}}, 0, false
	}
	if shift >= 64 { // collision list
		for i := range n.slots {
			if n.slots[i].name == leaf.name {
				return n.replace(gen, i, leaf)
			}
		}
		c := n.own(gen)
		c.slots = append(c.slots, leaf)
		return c, 0, false
	}
	bit := hamtBit(leaf.hash, shift)
	i := n.index(bit)
	if n.bitmap&bit == 0 {
		c := n.own(gen)
		c.slots = slices.Insert(c.slots, i, leaf)
		c.bitmap |= bit
		return c, 0, false
	}
	s := n.slots[i]
	switch {
	case s.sub != nil:
		sub, old, had := hamtSet(s.sub, gen, shift+hamtBits, leaf)
		if sub == s.sub {
			return n, old, had
		}
		c := n.own(gen)
		c.slots[i].sub = sub
		return c, old, had
	case s.name == leaf.name:
		return n.replace(gen, i, leaf)
	default: // two names meet in one slot: push both one level down
		c := n.own(gen)
		c.slots[i] = hamtSlot{sub: hamtPair(gen, shift+hamtBits, s, leaf)}
		return c, 0, false
	}
}

// replace binds slot i (a leaf with leaf's name) to leaf.svc.
func (n *hamtNode) replace(gen uint64, i int, leaf hamtSlot) (*hamtNode, uint64, bool) {
	old := n.slots[i].svc
	if old == leaf.svc {
		return n, old, true
	}
	c := n.own(gen)
	c.slots[i].svc = leaf.svc
	return c, old, true
}

// hamtPair returns a node at shift holding two leaves with different names.
func hamtPair(gen uint64, shift uint, a, b hamtSlot) *hamtNode {
	if shift >= 64 {
		return &hamtNode{edit: gen, slots: []hamtSlot{a, b}}
	}
	ba, bb := hamtBit(a.hash, shift), hamtBit(b.hash, shift)
	switch {
	case ba == bb:
		return &hamtNode{bitmap: ba, edit: gen, slots: []hamtSlot{{sub: hamtPair(gen, shift+hamtBits, a, b)}}}
	case ba < bb:
		return &hamtNode{bitmap: ba | bb, edit: gen, slots: []hamtSlot{a, b}}
	default:
		return &hamtNode{bitmap: ba | bb, edit: gen, slots: []hamtSlot{b, a}}
	}
}

// hamtDel returns the node that results from removing name (hash h) under
// n (nil if nothing is left), and the service it was bound to.
func hamtDel(n *hamtNode, gen uint64, shift uint, h uint64, name string) (out *hamtNode, old uint64, had bool) {
	if n == nil {
		return nil, 0, false
	}
	if shift >= 64 {
		for i := range n.slots {
			if n.slots[i].name == name {
				svc := n.slots[i].svc // before without changes n in place
				return n.without(gen, i, 0), svc, true
			}
		}
		return n, 0, false
	}
	bit := hamtBit(h, shift)
	if n.bitmap&bit == 0 {
		return n, 0, false
	}
	i := n.index(bit)
	s := n.slots[i]
	if s.sub == nil {
		if s.name != name {
			return n, 0, false
		}
		return n.without(gen, i, bit), s.svc, true
	}
	sub, old, had := hamtDel(s.sub, gen, shift+hamtBits, h, name)
	switch {
	case !had:
		return n, 0, false
	case sub == nil:
		return n.without(gen, i, bit), old, true
	}
	c := n.own(gen)
	if len(sub.slots) == 1 && sub.slots[0].sub == nil {
		c.slots[i] = sub.slots[0] // a lone leaf moves up: lookups meet it earlier on its path
	} else {
		c.slots[i].sub = sub
	}
	return c, old, true
}

// without returns n minus slot i (and bit), or nil if that was the last.
func (n *hamtNode) without(gen uint64, i int, bit uint32) *hamtNode {
	if len(n.slots) == 1 {
		return nil
	}
	c := n.own(gen)
	c.slots = slices.Delete(c.slots, i, i+1)
	c.bitmap &^= bit
	return c
}

// nameEdit is the writer's side of a View's names: the current trie, built
// up by one generation at a time and published as a nameTable.
type nameEdit struct {
	root *hamtNode
	size int
	seed maphash.Seed
	gen  uint64
}

func newNameEdit() nameEdit { return nameEdit{seed: maphash.MakeSeed(), gen: 1} }

func (e *nameEdit) set(name string, svc uint64) (uint64, bool) {
	leaf := hamtSlot{hash: maphash.String(e.seed, name), name: name, svc: svc}
	root, old, had := hamtSet(e.root, e.gen, 0, leaf)
	e.root = root
	if !had {
		e.size++
	}
	return old, had
}

func (e *nameEdit) del(name string) (uint64, bool) {
	root, old, had := hamtDel(e.root, e.gen, 0, maphash.String(e.seed, name), name)
	e.root = root
	if had {
		e.size--
	}
	return old, had
}

func (e *nameEdit) get(name string) (uint64, bool) {
	return hamtGet(e.root, maphash.String(e.seed, name), name)
}

// table returns the current trie as a table. Publishing it ends the
// generation: later changes copy the nodes it holds.
func (e *nameEdit) table() *nameTable { return &nameTable{root: e.root, size: e.size, seed: e.seed} }

// seal ends the generation, so the nodes built so far are never changed.
func (e *nameEdit) seal() { e.gen++ }

// reset empties the trie (a new generation: nothing published is touched).
func (e *nameEdit) reset() {
	e.root, e.size = nil, 0
	e.seal()
}
