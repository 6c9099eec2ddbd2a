package codec

import (
	"fmt"
	"reflect"
	"time"
	"unsafe"
)

// into decodes the payload of wt into v, which must be settable.
func (d *decoder) into(wt *wireType, v reflect.Value, depth int) error {
	if err := d.step(depth); err != nil {
		return err
	}
	switch {
	case v.Kind() == reflect.Interface && wt.tag != tagIface:
		return d.intoIface(wt, v, depth)
	case v.Kind() == reflect.Pointer && wt.tag != tagPtr && wt.tag != tagIface:
		// A value sent where the receiver now has a pointer.
		if v.IsNil() {
			if err := d.newElem(wt.minSize, v); err != nil {
				return err
			}
		}
		return d.into(wt, v.Elem(), depth+1)
	}
	switch wt.tag {
	case tagSlice:
		return d.intoSlice(wt, v, depth)
	case tagArray:
		return d.intoArray(wt, v, depth)
	case tagMap:
		return d.intoMap(wt, v, depth)
	case tagPtr:
		return d.intoPtr(wt, v, depth)
	case tagIface:
		inner, err := d.desc()
		if err != nil {
			return err
		}
		if inner.tag == tagNil {
			v.SetZero()
			return nil
		}
		return d.into(inner, v, depth+1)
	case tagNamed:
		return d.into(wt.under, v, depth)
	case tagStruct:
		return d.intoStruct(wt, v, depth)
	}
	return d.intoPrim(wt.tag, v)
}

// intoIface decodes a concrete wire value into an interface-typed slot.
func (d *decoder) intoIface(wt *wireType, v reflect.Value, depth int) error {
	var x any
	var err error
	if isPrim(wt.tag) && wt.tag != tagBytes {
		x, err = d.primAny(wt.tag)
	} else {
		x, err = d.natural(wt, depth+1)
	}
	if err != nil {
		return err
	}
	xv := reflect.ValueOf(x)
	if !xv.Type().AssignableTo(v.Type()) {
		return fmt.Errorf("%w: %v does not implement %v", ErrTypeMismatch, xv.Type(), v.Type())
	}
	v.Set(xv)
	return nil
}

func mismatch(wt *wireType, v reflect.Value) error {
	what := wt.name
	if what == "" {
		if wt.goType != nil {
			what = wt.goType.String()
		} else {
			what = fmt.Sprintf("tag 0x%02x", wt.tag)
		}
	}
	return fmt.Errorf("%w: cannot decode %s into %v", ErrTypeMismatch, what, v.Type())
}

func (d *decoder) intoSlice(wt *wireType, v reflect.Value, depth int) error {
	if v.Kind() != reflect.Slice {
		return mismatch(wt, v)
	}
	n, err := d.optLength(wt.elem.minSize)
	if err != nil {
		return err
	}
	if n < 0 {
		v.SetZero()
		return nil
	}
	if err := d.chargeN(n, v.Type().Elem()); err != nil {
		return err
	}
	noPtr := wt.elem.noPtr
	if wt.goType != v.Type() {
		noPtr = noPointers(v.Type().Elem())
	}
	d.makeSlice(v, n, noPtr)
	if op := ptrOp(wt.elem.tag, v.Type().Elem()); op != opNone && n > 0 {
		// Primitive elements: decode straight into the backing array.
		base, size := v.UnsafePointer(), v.Type().Elem().Size()
		for i := range n {
			if err := d.decodeOp(op, unsafe.Add(base, uintptr(i)*size)); err != nil {
				return err
			}
		}
		return nil
	}
	for i := range n {
		if err := d.into(wt.elem, v.Index(i), depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) intoArray(wt *wireType, v reflect.Value, depth int) error {
	if v.Kind() != reflect.Array || v.Len() != wt.n {
		return mismatch(wt, v)
	}
	for i := range wt.n {
		if err := d.into(wt.elem, v.Index(i), depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) intoMap(wt *wireType, v reflect.Value, depth int) error {
	if v.Kind() != reflect.Map {
		return mismatch(wt, v)
	}
	n, err := d.optLength(wt.key.minSize + wt.elem.minSize)
	if err != nil {
		return err
	}
	if n < 0 {
		v.SetZero()
		return nil
	}
	t := v.Type()
	const presize = 1024
	if err := d.chargeMap(min(n, presize), t); err != nil {
		return err
	}
	m := reflect.MakeMapWithSize(t, min(n, presize))
	k := reflect.New(t.Key()).Elem()
	e := reflect.New(t.Elem()).Elem()
	for i := range n {
		if i >= presize {
			// Growth is charged as entries arrive, against the bytes
			// they actually took.
			if err := d.chargeMap(1, t); err != nil {
				return err
			}
		}
		k.SetZero()
		if err := d.into(wt.key, k, depth+1); err != nil {
			return err
		}
		if !k.Comparable() {
			return fmt.Errorf("%w: map key of type %v is not comparable", ErrMalformed, k.Elem().Type())
		}
		e.SetZero()
		if err := d.into(wt.elem, e, depth+1); err != nil {
			return err
		}
		m.SetMapIndex(k, e)
	}
	v.Set(m)
	return nil
}

func (d *decoder) intoPtr(wt *wireType, v reflect.Value, depth int) error {
	present, err := d.bool()
	if err != nil {
		return err
	}
	if !present {
		v.SetZero()
		return nil
	}
	if v.Kind() != reflect.Pointer {
		// A pointer sent where the receiver now has a value.
		return d.into(wt.elem, v, depth+1)
	}
	if v.IsNil() {
		if err := d.newElem(wt.elem.minSize, v); err != nil {
			return err
		}
	}
	return d.into(wt.elem, v.Elem(), depth+1)
}

// newElem sets the nil pointer v to a new value, once the input holds the
// minSize bytes of its payload and the allocation is within the limits.
func (d *decoder) newElem(minSize int, v reflect.Value) error {
	if err := d.need(minSize); err != nil {
		return err
	}
	if err := d.chargeN(1, v.Type().Elem()); err != nil {
		return err
	}
	v.Set(reflect.New(v.Type().Elem()))
	return nil
}

func (d *decoder) intoStruct(wt *wireType, v reflect.Value, depth int) error {
	if v.Kind() != reflect.Struct || v.Type() == timeType {
		return mismatch(wt, v)
	}
	fm := wt.fieldMap(v.Type())
	var base unsafe.Pointer
	if v.CanAddr() {
		base = v.Addr().UnsafePointer()
	}
	for i := range wt.fields {
		f := &wt.fields[i]
		var err error
		switch idx := fm.idx[i]; {
		case idx < 0:
			err = d.skip(f.wt, depth+1)
		case fm.fast[i] != opNone && base != nil:
			err = d.decodeOp(fm.fast[i], unsafe.Add(base, fm.off[i]))
		default:
			err = d.into(f.wt, v.Field(idx), depth+1)
		}
		if err != nil {
			return fmt.Errorf("field %s of %s: %w", f.name, wt.name, err)
		}
	}
	return nil
}

// intoPrim decodes a primitive payload into v, converting between sizes.
func (d *decoder) intoPrim(tag byte, v reflect.Value) error {
	switch tag {
	case tagBool:
		b, err := d.bool()
		if err != nil || v.Kind() != reflect.Bool {
			return orMismatch(err, tag, v)
		}
		v.SetBool(b)
		return nil
	case tagString:
		return d.intoString(v)
	case tagBytes:
		return d.intoBytes(v)
	case tagTime:
		t, err := d.time()
		if err != nil || v.Type() != timeType {
			return orMismatch(err, tag, v)
		}
		if v.CanAddr() {
			*v.Addr().Interface().(*time.Time) = t
		} else {
			v.Set(reflect.ValueOf(t))
		}
		return nil
	case tagFloat32, tagFloat64, tagComplex64, tagComplex128:
		return d.intoFloat(tag, v)
	}
	return d.intoInt(tag, v)
}

func orMismatch(err error, tag byte, v reflect.Value) error {
	if err != nil {
		return err
	}
	return mismatch(primWire[tag], v)
}

func (d *decoder) intoString(v reflect.Value) error {
	b, err := d.bytes()
	if err != nil || v.Kind() != reflect.String {
		return orMismatch(err, tagString, v)
	}
	if err := d.charge(int64(len(b))); err != nil {
		return err
	}
	v.SetString(string(b))
	return nil
}

func (d *decoder) intoBytes(v reflect.Value) error {
	n, err := d.optLength(1)
	if err != nil || v.Kind() != reflect.Slice || v.Type().Elem().Kind() != reflect.Uint8 {
		return orMismatch(err, tagBytes, v)
	}
	if n < 0 {
		v.SetZero()
		return nil
	}
	if err := d.charge(int64(n)); err != nil {
		return err
	}
	b := make([]byte, n)
	copy(b, d.data[d.pos:])
	d.pos += n
	v.SetBytes(b)
	return nil
}

func (d *decoder) intoFloat(tag byte, v reflect.Value) error {
	var re, im float64
	var err error
	switch tag {
	case tagFloat32, tagComplex64:
		var f float32
		if f, err = d.float32(); err == nil && tag == tagComplex64 {
			var g float32
			g, err = d.float32()
			im = float64(g)
		}
		re = float64(f)
	default:
		if re, err = d.float64(); err == nil && tag == tagComplex128 {
			im, err = d.float64()
		}
	}
	if err != nil {
		return err
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if tag == tagFloat32 || tag == tagFloat64 {
			v.SetFloat(re)
			return nil
		}
	case reflect.Complex64, reflect.Complex128:
		if tag == tagComplex64 || tag == tagComplex128 {
			v.SetComplex(complex(re, im))
			return nil
		}
	}
	return mismatch(primWire[tag], v)
}

func (d *decoder) intoInt(tag byte, v reflect.Value) error {
	var i int64
	var u uint64
	var err error
	signed := true
	switch tag {
	case tagInt8:
		var b byte
		b, err = d.byte()
		i = int64(int8(b))
	case tagUint8:
		var b byte
		b, err = d.byte()
		u, signed = uint64(b), false
	case tagUint, tagUint16, tagUint32, tagUint64:
		u, err = d.uvarint()
		signed = false
	default: // int, int16, int32, int64, duration
		i, err = d.varint()
	}
	if err != nil {
		return err
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if signed && !v.OverflowInt(i) {
			v.SetInt(i)
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if !signed && !v.OverflowUint(u) {
			v.SetUint(u)
			return nil
		}
	}
	return mismatch(primWire[tag], v)
}
