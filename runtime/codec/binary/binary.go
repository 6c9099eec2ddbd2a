package binary

import (
	"fmt"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/lotou-io/lotou/runtime/codec"
)

// Marshal returns the encoding of v.
func Marshal(v any) ([]byte, error) {
	return Append(nil, v)
}

// Append appends the encoding of v to buf. One pointer at the top is
// followed, so Append(buf, &x) writes the same bytes as Append(buf, x) and
// Unmarshal(data, &x) reads them back. It does not allocate once buf
// has room and v's type has been seen. On error buf is returned unchanged.
func Append(buf []byte, v any) (out []byte, err error) {
	n := len(buf)
	defer func() {
		if p := recover(); p != nil {
			out, err = buf[:n], fmt.Errorf("%w: encoding %T: %v", codec.ErrInternal, v, p)
		}
	}()
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() == reflect.Pointer && rv.IsNil() {
		return buf, fmt.Errorf("%w: cannot encode nil %T", codec.ErrUnsupported, v)
	}
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem() // Marshal(&x) is Marshal(x), as Unmarshal(data, &x) reads x
	}
	p := planFor(rv.Type())
	if p.err != nil {
		return buf, p.err
	}
	if out, err = p.enc(buf, rv, 0); err != nil {
		return buf[:n], err
	}
	return out, nil
}

// Unmarshal decodes data, which must hold exactly one value, into the value
// ptr points to, with the default limits.
func Unmarshal(data []byte, ptr any) error {
	return UnmarshalLimits(data, ptr, codec.DefaultLimits())
}

// UnmarshalLimits is Unmarshal with explicit limits (zero fields take their
// defaults).
func UnmarshalLimits(data []byte, ptr any, lim codec.Limits) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: decoding %T: %v", codec.ErrInternal, ptr, p)
		}
	}()
	rv := reflect.ValueOf(ptr)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("%w: Unmarshal needs a non-nil pointer, got %T", codec.ErrTypeMismatch, ptr)
	}
	p := planFor(rv.Type().Elem())
	if p.err != nil {
		return p.err
	}
	d := decoder{data: data, lim: newLimits(lim)}
	if err := p.dec(&d, rv.Elem(), 0); err != nil {
		return fmt.Errorf("decoding %v at byte %d: %w", rv.Type().Elem(), d.pos, err)
	}
	if d.pos != len(data) {
		return fmt.Errorf("%w: %d bytes", codec.ErrTrailing, len(data)-d.pos)
	}
	return nil
}

type (
	encFunc func(buf []byte, v reflect.Value, depth int) ([]byte, error)
	decFunc func(d *decoder, v reflect.Value, depth int) error
)

// plan is the compiled encoder and decoder of one type.
type plan struct {
	enc     encFunc
	dec     decFunc
	minSize int // smallest encoding in bytes
	err     error
}

// plans caches compiled plans per reflect.Type, like encoding/json's cache.
var plans sync.Map

var timeType = reflect.TypeFor[time.Time]()

func planFor(t reflect.Type) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	c := compiler{building: make(map[reflect.Type]*plan)}
	p := c.compile(t)
	actual, _ := plans.LoadOrStore(t, p)
	return actual.(*plan)
}

type compiler struct {
	building map[reflect.Type]*plan
}

func (c *compiler) compile(t reflect.Type) *plan {
	if p, ok := c.building[t]; ok {
		// Recursive type: call through the plan being built.
		return &plan{
			enc:     func(buf []byte, v reflect.Value, depth int) ([]byte, error) { return p.enc(buf, v, depth) },
			dec:     func(d *decoder, v reflect.Value, depth int) error { return p.dec(d, v, depth) },
			minSize: 1,
		}
	}
	p := &plan{}
	c.building[t] = p
	defer delete(c.building, t)
	var err error
	switch {
	case t == timeType:
		p.enc, p.dec, p.minSize = encTime, decTime, 12
	case t.Kind() == reflect.Struct:
		err = c.structPlan(t, p)
	case t.Kind() == reflect.Pointer:
		err = c.ptrPlan(t, p)
	case t.Kind() == reflect.Slice, t.Kind() == reflect.Array, t.Kind() == reflect.Map:
		err = c.containerPlan(t, p)
	case t.Kind() == reflect.String:
		p.enc, p.dec, p.minSize = encString, decString, 4
	default:
		err = primPlan(t, p)
	}
	if err != nil {
		p.err = err
	}
	return p
}

func (c *compiler) structPlan(t reflect.Type, p *plan) error {
	type field struct {
		index int
		off   uintptr
		op    byte
		p     *plan
	}
	var fields []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Tag.Get("lotou") == "-" {
			continue
		}
		fp := c.compile(f.Type)
		if fp.err != nil {
			return fmt.Errorf("field %s of %v: %w", f.Name, t, fp.err)
		}
		fields = append(fields, field{index: i, off: f.Offset, op: fieldOp(f.Type), p: fp})
		p.minSize += fp.minSize
	}
	p.enc = func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
		var base unsafe.Pointer
		if v.CanAddr() {
			base = v.Addr().UnsafePointer()
		}
		var err error
		for i := range fields {
			f := &fields[i]
			if f.op != opNone && base != nil {
				buf, err = encodeOp(buf, f.op, unsafe.Add(base, f.off))
			} else {
				buf, err = f.p.enc(buf, v.Field(f.index), depth)
			}
			if err != nil {
				return buf, err
			}
		}
		return buf, nil
	}
	p.dec = func(d *decoder, v reflect.Value, depth int) error {
		var base unsafe.Pointer
		if v.CanAddr() {
			base = v.Addr().UnsafePointer()
		}
		for i := range fields {
			f := &fields[i]
			var err error
			if f.op != opNone && base != nil {
				err = d.decodeOp(f.op, unsafe.Add(base, f.off))
			} else {
				err = f.p.dec(d, v.Field(f.index), depth)
			}
			if err != nil {
				return fmt.Errorf("field %s: %w", t.Field(f.index).Name, err)
			}
		}
		return nil
	}
	return nil
}

func (c *compiler) ptrPlan(t reflect.Type, p *plan) error {
	elem := c.compile(t.Elem())
	if elem.err != nil {
		return elem.err
	}
	p.minSize = 1
	p.enc = func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(buf, 0), nil
		}
		if depth >= codec.DefaultMaxDepth {
			return buf, fmt.Errorf("%w: %v nested deeper than %d (cycle?)", codec.ErrLimit, t, codec.DefaultMaxDepth)
		}
		return elem.enc(append(buf, 1), v.Elem(), depth+1)
	}
	p.dec = func(d *decoder, v reflect.Value, depth int) error {
		b, err := d.read(1)
		if err != nil {
			return err
		}
		switch b[0] {
		case 0:
			v.SetZero()
			return nil
		case 1:
		default:
			return fmt.Errorf("%w: presence byte %d", codec.ErrMalformed, b[0])
		}
		if err := d.deeper(depth); err != nil {
			return err
		}
		if v.IsNil() {
			if err := d.need(elem.minSize); err != nil {
				return err
			}
			if err := d.chargeN(1, t.Elem()); err != nil {
				return err
			}
			v.Set(reflect.New(t.Elem()))
		}
		return elem.dec(d, v.Elem(), depth+1)
	}
	return nil
}
