package codec

import (
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// Registry is the set of user types a node can send and receive with the
// "gob" codec, plus the compiled per-type plans and the decoding limits.
//
// A Registry is safe for concurrent use. Register types at start-up, before
// traffic flows: registering later is allowed but discards cached plans.
type Registry struct {
	mu     sync.RWMutex
	byName map[string]reflect.Type
	byType map[reflect.Type]string

	limits atomic.Pointer[Limits]
	plans  atomic.Pointer[sync.Map] // reflect.Type -> *encPlan
	descs  atomic.Pointer[descCache]
	made   *typeMaker // composite types built for wire descriptors
}

// NewRegistry returns an empty registry with default limits.
func NewRegistry() *Registry {
	r := &Registry{
		byName: make(map[string]reflect.Type),
		byType: make(map[reflect.Type]string),
		made:   newTypeMaker(),
	}
	l := DefaultLimits()
	r.limits.Store(&l)
	r.plans.Store(new(sync.Map))
	r.descs.Store(newDescCache())
	return r
}

// SetLimits replaces the limits; zero fields take their defaults. MaxDepth
// also bounds encoding (cyclic pointers), so cached plans are discarded.
func (r *Registry) SetLimits(l Limits) {
	l = l.WithDefaults()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.limits.Store(&l)
	r.plans.Store(new(sync.Map))
}

// Limits returns the decoding limits in force.
func (r *Registry) Limits() Limits { return *r.limits.Load() }

// Register registers the type of v (a struct or a named non-struct type; a
// pointer is dereferenced) under its Go type name, such as "game.Player".
func (r *Registry) Register(v any) error {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return fmt.Errorf("%w: cannot register nil", ErrUnsupported)
	}
	return r.RegisterName(t.String(), v)
}

// RegisterName registers the type of v under an explicit stable name. Both
// ends of a connection must use the same name for the same type. Registering
// the same type under the same name twice is a no-op; reusing a name for a
// different type, or a type under a second name, is an error.
func (r *Registry) RegisterName(name string, v any) error {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if err := registrable(name, t); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byName[name]; ok {
		if old == t {
			return nil
		}
		return fmt.Errorf("codec: name %q already registered for %v, cannot register %v", name, old, t)
	}
	if old, ok := r.byType[t]; ok {
		return fmt.Errorf("codec: type %v already registered as %q", t, old)
	}
	r.byName[name] = t
	r.byType[t] = name
	r.made.seed(t)
	// Plans and descriptors compiled before may have treated t as unregistered.
	r.plans.Store(new(sync.Map))
	r.descs.Store(newDescCache())
	return nil
}

func registrable(name string, t reflect.Type) error {
	switch {
	case t == nil:
		return fmt.Errorf("%w: cannot register nil", ErrUnsupported)
	case name == "":
		return fmt.Errorf("codec: empty name for %v", t)
	case len(name) > 255:
		return fmt.Errorf("codec: name %q longer than 255 bytes", name)
	case t.Name() == "" || t.PkgPath() == "":
		return fmt.Errorf("%w: %v is not a named user type", ErrUnsupported, t)
	case t == timeType || t == durationType:
		return fmt.Errorf("%w: %v is built in", ErrUnsupported, t)
	}
	if !encodableKind(t.Kind()) {
		return fmt.Errorf("%w: %v of kind %v", ErrUnsupported, t, t.Kind())
	}
	return nil
}

// nameOf returns the registered name of t, if any.
func (r *Registry) nameOf(t reflect.Type) (string, bool) {
	r.mu.RLock()
	n, ok := r.byType[t]
	r.mu.RUnlock()
	return n, ok
}

// typeOf returns the type registered under name, if any.
func (r *Registry) typeOf(name string) (reflect.Type, bool) {
	r.mu.RLock()
	t, ok := r.byName[name]
	r.mu.RUnlock()
	return t, ok
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	anyType      = reflect.TypeFor[any]()
	stringType   = reflect.TypeFor[string]()
	bytesType    = reflect.TypeFor[[]byte]()
)

func encodableKind(k reflect.Kind) bool {
	switch k {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Uintptr, reflect.Invalid:
		return false
	default:
		return true
	}
}
