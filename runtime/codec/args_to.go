package codec

import (
	"fmt"
	"reflect"
	"unsafe"
)

// DecodeArgsTo decodes an argument list written by AppendArgs, which must
// fill data exactly and hold len(ptrs) arguments, straight into the values
// ptrs point to: no []any, no boxing. Each argument is converted as by
// DecodeValueInto. It does not allocate for arguments of bool, integer,
// float, time.Time and time.Duration kinds (a string allocates its bytes),
// so a caller that knows the parameter types (a handler's signature) decodes
// a call without the []any step:
//
//	var id int
//	var name string
//	err := reg.DecodeArgsTo(data, &id, &name)
func (r *Registry) DecodeArgsTo(data []byte, ptrs ...any) (err error) {
	defer recoverInto(&err, "decoding")
	d := decoder{r: r, data: data, lim: *r.limits.Load()}
	if err := d.argCount(len(ptrs)); err != nil {
		return err
	}
	for i, ptr := range ptrs {
		t := reflect.TypeOf(ptr)
		if t == nil || t.Kind() != reflect.Pointer {
			return fmt.Errorf("%w: argument %d: DecodeArgsTo needs pointers, got %T", ErrTypeMismatch, i, ptr)
		}
		if err := d.argTo(t.Elem(), efaceData(&ptr), func() reflect.Value { return reflect.ValueOf(ptr).Elem() }); err != nil {
			return fmt.Errorf("argument %d: %w", i, err)
		}
	}
	return d.end()
}

// DecodeArgsValues is DecodeArgsTo for callers that hold the parameters as
// settable reflect.Values (reflect.New(t).Elem(), kept and reused per
// handler): the remote call path, which knows a handler's parameter types
// as []reflect.Type. It allocates as DecodeArgsTo does.
func (r *Registry) DecodeArgsValues(data []byte, dst []reflect.Value) (err error) {
	defer recoverInto(&err, "decoding")
	d := decoder{r: r, data: data, lim: *r.limits.Load()}
	if err := d.argCount(len(dst)); err != nil {
		return err
	}
	for i, v := range dst {
		if !v.CanSet() {
			return fmt.Errorf("%w: argument %d: DecodeArgsValues needs settable values", ErrTypeMismatch, i)
		}
		if err := d.argTo(v.Type(), v.Addr().UnsafePointer(), func() reflect.Value { return v }); err != nil {
			return fmt.Errorf("argument %d: %w", i, err)
		}
	}
	return d.end()
}

// argCount reads the count of an argument list and checks it is want.
func (d *decoder) argCount(want int) error {
	n, err := d.length(1)
	if err != nil {
		return fmt.Errorf("argument count: %w", err)
	}
	if n != want {
		return fmt.Errorf("%w: %d arguments for %d parameters", ErrTypeMismatch, n, want)
	}
	return nil
}

// argTo decodes one value into the variable of type t at p: through a
// pointer op when the wire tag is t's natural primitive, else through
// reflect (val makes the reflect.Value only then).
func (d *decoder) argTo(t reflect.Type, p unsafe.Pointer, val func() reflect.Value) error {
	wt, err := d.desc()
	if err != nil {
		return err
	}
	if op := ptrOp(wt.tag, t); op != opNone {
		return d.decodeOp(op, p)
	}
	v := val()
	if wt.tag == tagNil {
		v.SetZero()
		return nil
	}
	return d.into(wt, v, 0)
}

// end checks that the input is used up.
func (d *decoder) end() error {
	if d.pos != len(d.data) {
		return fmt.Errorf("%w: %d bytes", ErrTrailing, len(d.data)-d.pos)
	}
	return nil
}
