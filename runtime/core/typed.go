package core

import (
	"reflect"
)

// ArgDecoder decodes an encoded argument list straight into a handler's
// typed parameters: settable values, one per parameter, that must be filled
// exactly. *codec.Registry implements it. The cluster passes it to
// Core.DecodeArgsFor so that a message from another node reaches its
// handler without an []any step: no boxing, no conversion, and no
// allocation for primitive parameters.
type ArgDecoder interface {
	DecodeArgsValues(data []byte, dst []reflect.Value) error
}

// typedArgs in nargs marks an envelope whose inline[0] holds the
// *argValues decoded for its handler (see DecodeArgsFor).
const typedArgs uint8 = 0x40

// argValues is an argument list decoded for one handler. It travels from a
// connection reader to the service goroutine in the envelope and goes back
// to the handler's pool once handled.
type argValues struct {
	h    *handler
	vals []reflect.Value // settable, one per parameter
	in   []reflect.Value // the *Context (if taken) and vals: reflect.Call's input
}

// getValues returns a zero set of h's parameters.
func (h *handler) getValues() *argValues {
	if vs, ok := h.values.Get().(*argValues); ok {
		return vs
	}
	vs := &argValues{h: h, vals: make([]reflect.Value, len(h.plan.in))}
	for i, t := range h.plan.in {
		vs.vals[i] = reflect.New(t).Elem()
	}
	vs.in = vs.vals
	if h.plan.withCtx {
		vs.in = append([]reflect.Value{{}}, vs.vals...)
	}
	return vs
}

// release zeroes the values (the decoder must not reuse what a handler may
// have kept, such as a slice's array) and returns them to the pool.
func (vs *argValues) release() {
	for _, v := range vs.vals {
		v.SetZero()
	}
	if vs.h.plan.withCtx {
		vs.in[0] = reflect.Value{}
	}
	vs.h.values.Put(vs)
}

// boxed returns the values as an argument list, for a handler other than
// the one they were decoded for (it was replaced meanwhile).
func (vs *argValues) boxed() []any {
	args := make([]any, len(vs.vals))
	for i, v := range vs.vals {
		args[i] = v.Interface()
	}
	return args
}

// callValues runs h with arguments decoded for it.
func (h *handler) callValues(c *Context, vs *argValues) ([]any, error) {
	switch {
	case h.callInt != nil:
		return h.callInt(c, int(vs.vals[0].Int()))
	case h.callStr != nil:
		return h.callStr(c, vs.vals[0].String())
	}
	if h.plan.withCtx {
		vs.in[0] = reflect.ValueOf(c)
	}
	return h.plan.results(h.fv.Call(vs.in))
}

// typedOK reports whether a handler takes its arguments decoded for it:
// one int or one string (typed bodies, no allocation), or a shape without a
// fast path (reflect.Call either way, minus the []any and its
// conversions); never interface parameters, whose values the []any path
// boxes anyway.
func typedOK(fn any, p *plan, h *handler) bool {
	if len(p.in) == 0 {
		return false
	}
	for _, t := range p.in {
		if t.Kind() == reflect.Interface {
			return false
		}
	}
	return h.callInt != nil || h.callStr != nil || fastPath(fn, nil) == nil
}

// DecodeArgsFor decodes data, the encoded arguments of m (a Send, Call or
// Request from another node, before DeliverLocal), straight into the
// parameters of the handler m is for, when this node runs that service and
// the handler takes them typed (see typedOK). It reports false, leaving m
// as it was, when the caller must decode into m.Args instead: unknown
// target or command, another handler shape, or a decode error (returned,
// so that the caller's []any path can report the mismatch as it always
// has).
func (c *Core) DecodeArgsFor(m *Message, dec ArgDecoder, data []byte) (bool, error) {
	if m.To.Node() != c.node || (m.Kind != KindSend && m.Kind != KindCall && m.Kind != KindRequest) {
		return false, nil
	}
	s := c.table.get(m.To)
	if s == nil {
		return false, nil
	}
	hm := s.pub.Load()
	if hm == nil {
		return false, nil
	}
	h := (*hm)[m.Cmd]
	if h == nil || !h.typed {
		return false, nil
	}
	vs := h.getValues()
	if err := dec.DecodeArgsValues(data, vs.vals); err != nil {
		vs.release()
		return false, err
	}
	m.typed = vs
	return true, nil
}
