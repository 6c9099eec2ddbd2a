package cluster

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// trie drives the trie functions with a chosen hash, so collisions at every
// depth (and full 64-bit ones) can be forced.
type trie struct {
	root *hamtNode
	gen  uint64
	hash func(string) uint64
}

func (tr *trie) set(name string, svc uint64) (uint64, bool) {
	root, old, had := hamtSet(tr.root, tr.gen, 0, hamtSlot{hash: tr.hash(name), name: name, svc: svc})
	tr.root = root
	return old, had
}

func (tr *trie) del(name string) (uint64, bool) {
	root, old, had := hamtDel(tr.root, tr.gen, 0, tr.hash(name), name)
	tr.root = root
	return old, had
}

func (tr *trie) get(name string) (uint64, bool) { return hamtGet(tr.root, tr.hash(name), name) }

func fnvHash(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

// TestNameTrieMatchesMap: random sets and deletes agree with a Go map, for
// well-spread hashes and for hashes that collide in their low bits (deep
// paths), in their high bits only, or entirely (collision lists).
func TestNameTrieMatchesMap(t *testing.T) {
	hashes := []struct {
		name string
		fn   func(string) uint64
	}{
		{"spread", fnvHash},
		{"low bits equal", func(s string) uint64 { return fnvHash(s) &^ (1<<40 - 1) }},
		{"high bits equal", func(s string) uint64 { return fnvHash(s) & 0xff }},
		{"all equal", func(string) uint64 { return 42 }},
		{"two values", func(s string) uint64 { return fnvHash(s) & (1 << 63) }},
	}
	for _, hc := range hashes {
		t.Run(hc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			tr := &trie{gen: 1, hash: hc.fn}
			model := map[string]uint64{}
			for i := range 4000 {
				name := fmt.Sprintf("n%d", rng.IntN(300))
				if i%50 == 0 {
					tr.gen++ // a new batch: earlier nodes become read-only
				}
				if rng.IntN(3) == 0 {
					old, had := tr.del(name)
					want, wantHad := model[name]
					if had != wantHad || old != want {
						t.Fatalf("step %d: del %s = %d,%v, want %d,%v", i, name, old, had, want, wantHad)
					}
					delete(model, name)
					continue
				}
				svc := rng.Uint64N(4)
				old, had := tr.set(name, svc)
				want, wantHad := model[name]
				if had != wantHad || (had && old != want) {
					t.Fatalf("step %d: set %s = %d,%v, want %d,%v", i, name, old, had, want, wantHad)
				}
				model[name] = svc
			}
			for i := range 300 {
				name := fmt.Sprintf("n%d", i)
				got, ok := tr.get(name)
				want, wantOK := model[name]
				if ok != wantOK || got != want {
					t.Fatalf("get %s = %d,%v, want %d,%v", name, got, ok, want, wantOK)
				}
			}
			n := 0
			tr.root.each(func(name string, svc uint64) {
				n++
				if model[name] != svc {
					t.Fatalf("each: %s = %d, want %d", name, svc, model[name])
				}
			})
			if n != len(model) {
				t.Fatalf("each saw %d names, want %d", n, len(model))
			}
			for name := range model {
				tr.del(name)
			}
			if tr.root != nil {
				t.Fatalf("trie not empty after deleting every name: %+v", tr.root)
			}
		})
	}
}

// TestNameTableSnapshots: a published table never changes, whatever the
// writer does next, in the same generation's later batches or after a
// reset.
func TestNameTableSnapshots(t *testing.T) {
	e := newNameEdit()
	for i := range 1000 {
		e.set(fmt.Sprintf("a%d", i), uint64(i))
	}
	first := e.table()
	e.seal()
	for i := range 1000 {
		if i%2 == 0 {
			e.del(fmt.Sprintf("a%d", i))
		} else {
			e.set(fmt.Sprintf("a%d", i), uint64(i)+1000)
		}
		e.set(fmt.Sprintf("b%d", i), 7)
	}
	second := e.table()
	e.seal()
	e.reset()
	e.set("c", 1)
	for i := range 1000 {
		name := fmt.Sprintf("a%d", i)
		if svc, ok := first.lookup(name); !ok || svc != uint64(i) {
			t.Fatalf("first snapshot: %s = %d,%v, want %d", name, svc, ok, i)
		}
		svc, ok := second.lookup(name)
		switch {
		case i%2 == 0 && ok:
			t.Fatalf("second snapshot: %s still there", name)
		case i%2 == 1 && (!ok || svc != uint64(i)+1000):
			t.Fatalf("second snapshot: %s = %d,%v, want %d", name, svc, ok, i+1000)
		}
		if _, ok := first.lookup(fmt.Sprintf("b%d", i)); ok {
			t.Fatal("first snapshot sees a later name")
		}
	}
	if first.size != 1000 || second.size != 1500 || e.size != 1 {
		t.Fatalf("sizes %d, %d, %d, want 1000, 1500, 1", first.size, second.size, e.size)
	}
}

// TestViewLookupDuringApply: lookups run on other goroutines while names
// come and go (run with -race): a name registered before the readers start
// and never touched is always found, and nothing is found that was never
// registered.
func TestViewLookupDuringApply(t *testing.T) {
	v := NewView()
	v.Apply(&Control{Type: CtlWelcome, Nodes: []NodeEntry{{ID: 2, Up: true}}, Names: []NameEntry{{Name: "stable", ID: svc(2, 1)}}})
	var stop atomic.Bool
	var wg sync.WaitGroup
	var bad atomic.Value
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if got, ok := v.Lookup("stable"); !ok || got != svc(2, 1) {
					bad.Store(fmt.Sprintf("stable = %v,%v", got, ok))
					return
				}
				if got, ok := v.Lookup("never"); ok {
					bad.Store(fmt.Sprintf("never = %v", got))
					return
				}
				if got, ok := v.Lookup("churn7"); ok && got != svc(2, 7) {
					bad.Store(fmt.Sprintf("churn7 = %v", got))
					return
				}
			}
		}()
	}
	for i := range 5000 {
		name := fmt.Sprintf("churn%d", i%50)
		v.Apply(&Control{Type: CtlNameAdd, Name: name, Service: svc(2, uint64(i%50))})
		if i%3 == 0 {
			v.Apply(&Control{Type: CtlNameDel, Name: name, Service: svc(2, uint64(i%50))})
		}
	}
	stop.Store(true)
	wg.Wait()
	if b := bad.Load(); b != nil {
		t.Fatal(b)
	}
}

// BenchmarkViewNameUpdate: the cost of one name added and removed (two
// applied messages, two published snapshots) in a View already holding n
// names. It grows with log32(n), not n: no snapshot copies the table.
func BenchmarkViewNameUpdate(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(fmt.Sprintf("names=%d", n), func(b *testing.B) {
			v := NewView()
			names := make([]NameEntry, n)
			for i := range names {
				names[i] = NameEntry{Name: fmt.Sprintf("svc-%d", i), ID: svc(2, uint64(i))}
			}
			v.Apply(&Control{Type: CtlWelcome, Nodes: []NodeEntry{{ID: 2, Up: true}}, Names: names})
			extra := make([]string, 1024)
			for i := range extra {
				extra[i] = fmt.Sprintf("extra-%d", i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				name := extra[i%len(extra)]
				v.Apply(&Control{Type: CtlNameAdd, Name: name, Service: svc(2, 1)})
				v.Apply(&Control{Type: CtlNameDel, Name: name, Service: svc(2, 1)})
			}
		})
	}
}

// BenchmarkViewLookup: lookups of a known name on every core while one
// goroutine applies name changes without pause.
func BenchmarkViewLookup(b *testing.B) {
	v := NewView()
	names := make([]NameEntry, 10_000)
	for i := range names {
		names[i] = NameEntry{Name: fmt.Sprintf("svc-%d", i), ID: svc(2, uint64(i))}
	}
	v.Apply(&Control{Type: CtlWelcome, Nodes: []NodeEntry{{ID: 2, Up: true}}, Names: names})
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; !stop.Load(); i++ {
			name := fmt.Sprintf("extra-%d", i%64)
			v.Apply(&Control{Type: CtlNameAdd, Name: name, Service: svc(2, 1)})
			v.Apply(&Control{Type: CtlNameDel, Name: name, Service: svc(2, 1)})
		}
	}()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, ok := v.Lookup(names[i%len(names)].Name); !ok {
				b.Error("known name not found")
				return
			}
			i++
		}
	})
	b.StopTimer()
	stop.Store(true)
	<-done
}
