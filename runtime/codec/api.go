package codec

import (
	"fmt"
	"reflect"
)

// AppendValue appends the self-describing encoding of v (a type descriptor
// then a payload, see doc.go) to buf. It does not allocate for primitive
// values and registered structs once buf has room and the type's plan is
// compiled. On error buf is returned unchanged (truncated to its old length).
func (r *Registry) AppendValue(buf []byte, v any) (out []byte, err error) {
	n := len(buf)
	defer func() {
		if err != nil {
			out = buf[:n]
		}
	}()
	defer recoverInto(&err, "encoding")
	out, err = r.appendAny(buf, v, 0)
	if err != nil {
		return buf[:n], err
	}
	return out, nil
}

// AppendArgs appends an argument list: its count as a uvarint, then each
// argument as by AppendValue. An empty list takes one byte.
func (r *Registry) AppendArgs(buf []byte, args []any) (out []byte, err error) {
	n := len(buf)
	defer func() {
		if err != nil {
			out = buf[:n]
		}
	}()
	defer recoverInto(&err, "encoding")
	out = AppendUvarint(buf, uint64(len(args)))
	for i, a := range args {
		if out, err = r.appendAny(out, a, 0); err != nil {
			return buf[:n], fmt.Errorf("argument %d: %w", i, err)
		}
	}
	return out, nil
}

// DecodeValue decodes one value from the front of data, with its natural Go
// type (see doc.go), and returns it with the number of bytes read.
func (r *Registry) DecodeValue(data []byte) (v any, n int, err error) {
	defer recoverInto(&err, "decoding")
	d := r.newDecoder(data)
	v, err = d.value()
	return v, d.pos, err
}

// DecodeValueInto decodes one value from the front of data into the value
// ptr points to, converting as described in doc.go (struct fields matched
// by name, integers into any integer kind that holds them), and returns the
// number of bytes read. Decoding into a typed target avoids boxing.
func (r *Registry) DecodeValueInto(data []byte, ptr any) (n int, err error) {
	defer recoverInto(&err, "decoding")
	rv := reflect.ValueOf(ptr)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return 0, fmt.Errorf("%w: DecodeValueInto needs a non-nil pointer, got %T", ErrTypeMismatch, ptr)
	}
	d := r.newDecoder(data)
	wt, err := d.desc()
	if err != nil {
		return d.pos, err
	}
	if wt.tag == tagNil {
		rv.Elem().SetZero()
		return d.pos, nil
	}
	err = d.into(wt, rv.Elem(), 0)
	return d.pos, err
}

// ReadArgs decodes an argument list written by AppendArgs from the front of
// data and returns it with the number of bytes read.
func (r *Registry) ReadArgs(data []byte) (args []any, n int, err error) {
	return r.ReadArgsInto(nil, data)
}

// ReadArgsInto is ReadArgs that decodes into dst's storage: the arguments
// are appended to dst[:0], so a caller that reuses dst decodes a list that
// fits in cap(dst) without allocating the slice. The whole list shares one
// allocation budget (Limits). An empty list returns dst[:0].
func (r *Registry) ReadArgsInto(dst []any, data []byte) (args []any, n int, err error) {
	defer recoverInto(&err, "decoding")
	d := r.newDecoder(data)
	cnt, err := d.length(1)
	if err != nil {
		return dst[:0], d.pos, fmt.Errorf("argument count: %w", err)
	}
	if cnt == 0 {
		return dst[:0], d.pos, nil
	}
	args = dst[:0]
	if cnt > cap(dst) {
		if err = d.charge(int64(cnt) * 16); err != nil {
			return dst[:0], d.pos, err
		}
		args = make([]any, 0, cnt)
	}
	for i := range cnt {
		v, err := d.value()
		if err != nil {
			clear(args[:cap(args)])
			return args[:0], d.pos, fmt.Errorf("argument %d: %w", i, err)
		}
		args = append(args, v)
	}
	return args, d.pos, nil
}

// DecodeArgs decodes an argument list written by AppendArgs that must fill
// data exactly. An empty list decodes as nil.
func (r *Registry) DecodeArgs(data []byte) ([]any, error) {
	return r.DecodeArgsInto(nil, data)
}

// DecodeArgsInto is DecodeArgs that decodes into dst's storage, as
// ReadArgsInto does. An empty list decodes as dst[:0].
func (r *Registry) DecodeArgsInto(dst []any, data []byte) ([]any, error) {
	args, n, err := r.ReadArgsInto(dst, data)
	if err != nil {
		return args, err
	}
	if n != len(data) {
		clear(args)
		return args[:0], fmt.Errorf("%w: %d bytes", ErrTrailing, len(data)-n)
	}
	return args, nil
}

// recoverInto turns a panic into an ErrInternal error so that no panic
// crosses the package boundary.
func recoverInto(err *error, what string) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: %s: %v", ErrInternal, what, p)
	}
}
