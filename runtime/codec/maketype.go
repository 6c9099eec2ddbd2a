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
}

type typeKey struct {
	kind      reflect.Kind
	key, elem reflect.Type
	n         int
}

func newTypeMaker() *typeMaker {
	return &typeMaker{types: make(map[typeKey]reflect.Type)}
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
	if len(m.types) >= MaxMadeTypes {
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
	return t, nil
}

// count returns the number of types made.
func (m *typeMaker) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.types)
}
