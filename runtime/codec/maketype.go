package codec

import (
	"fmt"
	"reflect"
	"sync"
)

// typeMaker builds the composite Go types (slices, arrays, maps, pointers)
// that wire descriptors decode to, remembering each and refusing to build
// more than MaxMadeTypes distinct ones: the Go runtime keeps every type
// reflect makes, so wire input must not choose how many there are.
type typeMaker struct {
	mu    sync.Mutex
	types map[typeKey]reflect.Type
	made  int // types made for wire input, bounded by MaxMadeTypes
}

type typeKey struct {
	kind      reflect.Kind
	key, elem reflect.Type
	n         int
}

func newTypeMaker() *typeMaker {
	m := &typeMaker{types: make(map[typeKey]reflect.Type)}
	for _, v := range []any{[]any{}, map[string]any{}, []int{}, []int32{}, []int64{}, []uint64{}, []float64{},
		[]float32{}, []string{}, []bool{}, map[string]string{}, map[string]int{}, map[int]int{}, [][]byte{}} {
		m.seed(reflect.TypeOf(v))
	}
	return m
}

// seed records the composite types t is made of (a registered type's
// fields, common built-in shapes) without counting them against
// MaxMadeTypes: they exist in the program already, so wire input that
// names them can always be decoded into interfaces.
func (m *typeMaker) seed(t reflect.Type) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seedLocked(t, make(map[reflect.Type]bool))
}

func (m *typeMaker) seedLocked(t reflect.Type, seen map[reflect.Type]bool) {
	if seen[t] {
		return
	}
	seen[t] = true
	if t.Name() != "" {
		// A named type is not what SliceOf, MapOf... return: record only
		// what it is made of.
		if t.Kind() == reflect.Struct {
			for i := range t.NumField() {
				m.seedLocked(t.Field(i).Type, seen)
			}
			return
		}
		switch t.Kind() {
		case reflect.Slice, reflect.Pointer, reflect.Array:
			m.seedLocked(t.Elem(), seen)
		case reflect.Map:
			m.seedLocked(t.Key(), seen)
			m.seedLocked(t.Elem(), seen)
		}
		return
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Pointer:
		m.types[typeKey{kind: t.Kind(), elem: t.Elem()}] = t
		m.seedLocked(t.Elem(), seen)
	case reflect.Array:
		m.types[typeKey{kind: t.Kind(), elem: t.Elem(), n: t.Len()}] = t
		m.seedLocked(t.Elem(), seen)
	case reflect.Map:
		m.types[typeKey{kind: t.Kind(), key: t.Key(), elem: t.Elem()}] = t
		m.seedLocked(t.Key(), seen)
		m.seedLocked(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			m.seedLocked(t.Field(i).Type, seen)
		}
	}
}

// make returns the type of kind (Slice, Array, Map or Pointer) over elem
// (and key for maps, length n for arrays).
func (m *typeMaker) make(kind reflect.Kind, key, elem reflect.Type, n int) (reflect.Type, error) {
	k := typeKey{kind: kind, key: key, elem: elem, n: n}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.types[k]; ok {
		return t, nil
	}
	if m.made >= MaxMadeTypes {
		return nil, fmt.Errorf("%w: more than %d distinct composite types from the wire; decode into a typed destination",
			ErrLimit, MaxMadeTypes)
	}
	var t reflect.Type
	switch kind {
	case reflect.Slice:
		t = reflect.SliceOf(elem)
	case reflect.Pointer:
		t = reflect.PointerTo(elem)
	case reflect.Map:
		t = reflect.MapOf(key, elem)
	default:
		if size := elem.Size(); size != 0 && uint64(n) > MaxMadeArrayBytes/uint64(size) {
			return nil, fmt.Errorf("%w: array [%d]%v larger than MaxMadeArrayBytes %d; decode into a typed destination",
				ErrLimit, n, elem, MaxMadeArrayBytes)
		}
		t = reflect.ArrayOf(n, elem)
	}
	m.types[k] = t
	m.made++
	return t, nil
}

// count returns the number of types made for wire input.
func (m *typeMaker) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.made
}
