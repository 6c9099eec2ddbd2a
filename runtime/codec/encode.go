package codec

import (
	"fmt"
	"reflect"
	"time"
	"unsafe"
)

// encFunc appends the payload of v. depth counts nesting for MaxDepth.
type encFunc func(buf []byte, v reflect.Value, depth int) ([]byte, error)

// encPlan is the compiled encoder of one Go type: its descriptor bytes and
// its payload encoder. Plans are cached per Registry in a sync.Map.
type encPlan struct {
	desc []byte
	enc  encFunc
	err  error
	addr bool // encode from an addressable view of the interface's data
}

// appendAny appends desc+payload of v, with fast paths for common types.
func (r *Registry) appendAny(buf []byte, v any, depth int) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(buf, tagNil), nil
	case int:
		return AppendVarint(append(buf, tagInt), int64(x)), nil
	case int64:
		return AppendVarint(append(buf, tagInt64), x), nil
	case int32:
		return AppendVarint(append(buf, tagInt32), int64(x)), nil
	case uint64:
		return AppendUvarint(append(buf, tagUint64), x), nil
	case uint32:
		return AppendUvarint(append(buf, tagUint32), uint64(x)), nil
	case string:
		return AppendString(append(buf, tagString), x), nil
	case bool:
		return appendBool(append(buf, tagBool), x), nil
	case float64:
		return appendFloat64(append(buf, tagFloat64), x), nil
	case []byte:
		return appendBytes(append(buf, tagBytes), x), nil
	case time.Time:
		return appendTime(append(buf, tagTime), x), nil
	case time.Duration:
		return AppendVarint(append(buf, tagDuration), int64(x)), nil
	}
	rv := reflect.ValueOf(v)
	p := r.plan(rv.Type())
	if p.err != nil {
		return buf, p.err
	}
	if p.addr {
		// The interface holds a pointer to its value (t is not
		// pointer-shaped): view it in place, addressable, without a copy,
		// so that fields are read through pointers. The view is read only.
		rv = reflect.NewAt(rv.Type(), efaceData(&v)).Elem()
	}
	return p.enc(append(buf, p.desc...), rv, depth)
}

// efaceData returns the data word of an interface value.
func efaceData(v *any) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(v))[1] //nolint:gosec // G103: the eface layout read is covered by the race and checkptr tests
}

// plan returns the cached plan of t, compiling it on first use.
func (r *Registry) plan(t reflect.Type) *encPlan {
	plans := r.plans.Load()
	if p, ok := plans.Load(t); ok {
		return p.(*encPlan)
	}
	c := &compiler{r: r, building: make(map[reflect.Type]*encPlan)}
	p := c.compile(t)
	actual, _ := plans.LoadOrStore(t, p)
	return actual.(*encPlan)
}

// compiler builds plans; building holds plans under construction so that
// recursive types refer to themselves.
type compiler struct {
	r        *Registry
	building map[reflect.Type]*encPlan
}

func (c *compiler) compile(t reflect.Type) *encPlan {
	if p, ok := c.building[t]; ok {
		return p
	}
	p := &encPlan{}
	c.building[t] = p
	desc, err := c.desc(nil, t, nil)
	if err != nil {
		p.err = err
		return p
	}
	p.desc = desc
	enc, err := c.encoder(t)
	if err != nil {
		p.err = err
		return p
	}
	p.enc = enc
	p.addr = (t.Kind() == reflect.Struct || t.Kind() == reflect.Array) && !directIface(t)
	return p
}

// sub returns an encoder for t that may be under construction.
func (c *compiler) sub(t reflect.Type) (encFunc, error) {
	if p, ok := c.building[t]; ok {
		return func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
			return p.enc(buf, v, depth)
		}, nil
	}
	p := c.compile(t)
	return p.enc, p.err
}

func (c *compiler) encoder(t reflect.Type) (encFunc, error) {
	if t == timeType {
		return encTime, nil
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Struct:
		return c.compositeEncoder(t)
	default:
		if enc := primEncoder(t.Kind()); enc != nil {
			return enc, nil
		}
	}
	return nil, fmt.Errorf("%w: %v", ErrUnsupported, t)
}

func primEncoder(k reflect.Kind) encFunc {
	switch k {
	case reflect.Bool:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) { return appendBool(buf, v.Bool()), nil }
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) { return AppendVarint(buf, v.Int()), nil }
	case reflect.Int8:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) { return append(buf, byte(v.Int())), nil }
	case reflect.Uint8:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) { return append(buf, byte(v.Uint())), nil }
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) { return AppendUvarint(buf, v.Uint()), nil }
	case reflect.Float32:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) {
			return appendFloat32(buf, float32(v.Float())), nil
		}
	case reflect.Float64:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) {
			return appendFloat64(buf, v.Float()), nil
		}
	case reflect.Complex64:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) {
			c := v.Complex()
			buf = appendFloat32(buf, float32(real(c)))
			return appendFloat32(buf, float32(imag(c))), nil
		}
	case reflect.Complex128:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) {
			c := v.Complex()
			buf = appendFloat64(buf, real(c))
			return appendFloat64(buf, imag(c)), nil
		}
	case reflect.String:
		return func(buf []byte, v reflect.Value, _ int) ([]byte, error) { return AppendString(buf, v.String()), nil }
	default:
		return nil
	}
}

func (c *compiler) compositeEncoder(t reflect.Type) (encFunc, error) {
	maxDepth := c.r.Limits().MaxDepth
	deeper := func(depth int) error {
		if depth >= maxDepth {
			return fmt.Errorf("%w: encoding %v nested deeper than %d", ErrLimit, t, maxDepth)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return func(buf []byte, v reflect.Value, _ int) ([]byte, error) { return appendBytes(buf, v.Bytes()), nil }, nil
		}
		return c.sliceEncoder(t, deeper)
	case reflect.Array:
		elem, err := c.sub(t.Elem())
		if err != nil {
			return nil, err
		}
		return func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
			var err error
			for i := range v.Len() {
				if buf, err = elem(buf, v.Index(i), depth+1); err != nil {
					return buf, err
				}
			}
			return buf, nil
		}, nil
	case reflect.Map:
		return c.mapEncoder(t, deeper)
	case reflect.Pointer:
		elem, err := c.sub(t.Elem())
		if err != nil {
			return nil, err
		}
		return func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
			if v.IsNil() {
				return append(buf, 0), nil
			}
			if err := deeper(depth); err != nil {
				return buf, err
			}
			return elem(append(buf, 1), v.Elem(), depth+1)
		}, nil
	case reflect.Interface:
		return func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
			if v.IsNil() {
				return append(buf, tagNil), nil
			}
			if err := deeper(depth); err != nil {
				return buf, err
			}
			return c.r.appendAny(buf, v.Interface(), depth+1)
		}, nil
	default: // reflect.Struct
		return c.structEncoder(t)
	}
}

func (c *compiler) sliceEncoder(t reflect.Type, deeper func(int) error) (encFunc, error) {
	elem, err := c.sub(t.Elem())
	if err != nil {
		return nil, err
	}
	return func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(buf, 0), nil
		}
		if err := deeper(depth); err != nil {
			return buf, err
		}
		n := v.Len()
		buf = AppendUvarint(buf, uint64(n)+1)
		var err error
		for i := range n {
			if buf, err = elem(buf, v.Index(i), depth+1); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}, nil
}

func (c *compiler) mapEncoder(t reflect.Type, deeper func(int) error) (encFunc, error) {
	key, err := c.sub(t.Key())
	if err != nil {
		return nil, err
	}
	elem, err := c.sub(t.Elem())
	if err != nil {
		return nil, err
	}
	return func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
		if v.IsNil() {
			return append(buf, 0), nil
		}
		if err := deeper(depth); err != nil {
			return buf, err
		}
		buf = AppendUvarint(buf, uint64(v.Len())+1)
		it := v.MapRange()
		var err error
		for it.Next() {
			if buf, err = key(buf, it.Key(), depth+1); err != nil {
				return buf, err
			}
			if buf, err = elem(buf, it.Value(), depth+1); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}, nil
}

// fieldEnc encodes one struct field.
type fieldEnc struct {
	index int
	off   uintptr
	enc   encFunc
	ptr   ptrEnc // nil unless the field has a pointer encoder
}

func (c *compiler) structEncoder(t reflect.Type) (encFunc, error) {
	fields := wireFields(t)
	encs := make([]fieldEnc, 0, len(fields))
	for _, f := range fields {
		enc, err := c.sub(t.Field(f.index).Type)
		if err != nil {
			return nil, fmt.Errorf("field %s of %v: %w", f.name, t, err)
		}
		sf := t.Field(f.index)
		encs = append(encs, fieldEnc{index: f.index, off: sf.Offset, enc: enc, ptr: ptrEncoder(sf.Type)})
	}
	return func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
		var base unsafe.Pointer
		if v.CanAddr() {
			base = v.Addr().UnsafePointer()
		}
		var err error
		for i := range encs {
			f := &encs[i]
			if f.ptr != nil && base != nil {
				buf = f.ptr(buf, unsafe.Add(base, f.off))
				continue
			}
			if buf, err = f.enc(buf, v.Field(f.index), depth); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}, nil
}

// localField is an exported struct field as it appears on the wire.
type localField struct {
	name  string
	index int
}

// wireFields lists the exported fields of struct type t with their wire
// names (`lotou:"name"` renames, `lotou:"-"` skips).
func wireFields(t reflect.Type) []localField {
	var out []localField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := f.Name
		if tag, ok := f.Tag.Lookup("lotou"); ok {
			if tag == "-" {
				continue
			}
			if tag != "" {
				name = tag
			}
		}
		out = append(out, localField{name: name, index: i})
	}
	return out
}

func appendBool(buf []byte, b bool) []byte {
	if b {
		return append(buf, 1)
	}
	return append(buf, 0)
}

func appendBytes(buf, b []byte) []byte {
	if b == nil {
		return append(buf, 0)
	}
	buf = AppendUvarint(buf, uint64(len(b))+1)
	return append(buf, b...)
}

func encTime(buf []byte, v reflect.Value, _ int) ([]byte, error) {
	if v.CanAddr() {
		return appendTime(buf, *v.Addr().Interface().(*time.Time)), nil
	}
	return appendTime(buf, v.Interface().(time.Time)), nil
}

func appendTime(buf []byte, t time.Time) []byte {
	buf = AppendVarint(buf, t.Unix())
	ns := uint64(t.Nanosecond()) << 1
	if t.Location() == time.UTC {
		return AppendUvarint(buf, ns)
	}
	_, off := t.Zone()
	return AppendVarint(AppendUvarint(buf, ns|1), int64(off))
}
