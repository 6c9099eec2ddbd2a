package core

import (
	"fmt"
	"reflect"
	"sync"
)

// invoker runs a handler with the message arguments and returns its reply.
type invoker func(c *Context, args []any) ([]any, error)

// handler is a registered command handler.
type handler struct {
	call invoker
	// callInt runs a handler whose only argument is an int with an
	// unboxed one (Core.SendInt); nil for other shapes.
	callInt func(c *Context, x int) ([]any, error)
	// callStr is callInt for a handler whose only argument is a string.
	callStr func(c *Context, x string) ([]any, error)

	// For arguments decoded straight into the parameters (DecodeArgsFor).
	typed  bool          // the handler takes them (see typedOK)
	plan   *plan         // parameter types
	fv     reflect.Value // the handler func
	values sync.Pool     // *argValues
}

var (
	ctxType = reflect.TypeFor[*Context]()
	errType = reflect.TypeFor[error]()
	plans   sync.Map // reflect.Type -> *plan
)

// plan is what reflection learns about a handler type, once per type.
type plan struct {
	withCtx bool
	in      []reflect.Type
	nOut    int // results before the optional trailing error
	withErr bool
}

// newHandler checks fn once and builds its invoker: a typed fast path for
// common shapes, reflect.Call otherwise.
func newHandler(fn any) (*handler, error) {
	if fn == nil {
		return nil, fmt.Errorf("nil handler: %w", ErrBadHandler)
	}
	v := reflect.ValueOf(fn)
	if v.Kind() != reflect.Func || v.IsNil() {
		return nil, fmt.Errorf("handler of type %T is not a func: %w", fn, ErrBadHandler)
	}
	p, err := planFor(v.Type())
	if err != nil {
		return nil, err
	}
	slow := p.invoker(v)
	h := &handler{call: slow, callInt: intBody(fn), callStr: stringBody(fn), plan: p, fv: v}
	if fast := fastPath(fn, slow); fast != nil {
		h.call = fast
	}
	h.typed = typedOK(fn, p, h)
	return h, nil
}

// planFor analyses a func type, caching the result per type.
func planFor(t reflect.Type) (*plan, error) {
	if p, ok := plans.Load(t); ok {
		return p.(*plan), nil
	}
	if t.IsVariadic() {
		return nil, fmt.Errorf("handler %v is variadic: %w", t, ErrBadHandler)
	}
	p := &plan{}
	for i := range t.NumIn() {
		in := t.In(i)
		if in == ctxType {
			if i != 0 {
				return nil, fmt.Errorf("handler %v: *Context must be the first parameter: %w", t, ErrBadHandler)
			}
			p.withCtx = true
			continue
		}
		p.in = append(p.in, in)
	}
	p.nOut = t.NumOut()
	if p.nOut > 0 && t.Out(p.nOut-1) == errType {
		p.withErr = true
		p.nOut--
	}
	plans.Store(t, p)
	return p, nil
}

// invoker returns the reflect.Call path for fv.
func (p *plan) invoker(fv reflect.Value) invoker {
	return func(c *Context, args []any) ([]any, error) {
		if len(args) != len(p.in) {
			return nil, fmt.Errorf("got %d arguments, want %d: %w", len(args), len(p.in), ErrBadArgs)
		}
		in := make([]reflect.Value, 0, len(p.in)+1)
		if p.withCtx {
			in = append(in, reflect.ValueOf(c))
		}
		for i, t := range p.in {
			v, err := convertArg(args[i], t)
			if err != nil {
				return nil, fmt.Errorf("argument %d: %w", i, err)
			}
			in = append(in, v)
		}
		return p.results(fv.Call(in))
	}
}

// results turns a handler's results into a reply.
func (p *plan) results(out []reflect.Value) ([]any, error) {
	var err error
	if p.withErr {
		if e := out[p.nOut]; !e.IsNil() {
			err = e.Interface().(error)
		}
	}
	if p.nOut == 0 {
		return nil, err
	}
	ret := make([]any, p.nOut)
	for i := range p.nOut {
		ret[i] = out[i].Interface()
	}
	return ret, err
}

// convertArg turns a message argument into a value of type t: identical or
// assignable types pass, nil becomes the zero value of nilable types, and
// numbers convert between numeric kinds when the value fits.
func convertArg(a any, t reflect.Type) (reflect.Value, error) {
	if a == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map, reflect.Chan, reflect.Func:
			return reflect.Zero(t), nil
		default:
			return reflect.Value{}, fmt.Errorf("nil for %v: %w", t, ErrBadArgs)
		}
	}
	v := reflect.ValueOf(a)
	if v.Type().AssignableTo(t) {
		return v, nil
	}
	if isNumber(v.Kind()) && isNumber(t.Kind()) && fits(v, t) {
		return v.Convert(t), nil
	}
	return reflect.Value{}, fmt.Errorf("%T for %v: %w", a, t, ErrBadArgs)
}

func isNumber(k reflect.Kind) bool {
	return (k >= reflect.Int && k <= reflect.Uint64) || k == reflect.Float32 || k == reflect.Float64
}

// fits reports whether numeric v converts to t without loss of range.
func fits(v reflect.Value, t reflect.Type) bool {
	z := reflect.New(t).Elem()
	switch {
	case v.CanInt():
		n := v.Int()
		switch {
		case z.CanInt():
			return !z.OverflowInt(n)
		case z.CanUint():
			return n >= 0 && !z.OverflowUint(uint64(n))
		default:
			return true
		}
	case v.CanUint():
		n := v.Uint()
		switch {
		case z.CanInt():
			return n <= 1<<63-1 && !z.OverflowInt(int64(n))
		case z.CanUint():
			return !z.OverflowUint(n)
		default:
			return true
		}
	default: // float source: only to floats
		return z.CanFloat() && !z.OverflowFloat(v.Float())
	}
}
