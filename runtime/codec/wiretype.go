package codec

import (
	"fmt"
	"reflect"
	"sync"
)

// wireType is a parsed type descriptor. Primitive ones are shared
// singletons; composite ones are cached per Registry by descriptor bytes.
type wireType struct {
	tag     byte
	n       int    // array length
	name    string // named, struct and ref
	elem    *wireType
	key     *wireType
	under   *wireType // named: the underlying descriptor
	fields  []wireField
	minSize int // smallest payload in bytes, to bound lengths by input left
	visits  int // arrays: values in one payload, bounded by MaxLen

	// goType is the natural Go type values of this descriptor decode to;
	// nil if unknown here, with goErr saying why.
	goType reflect.Type
	goErr  error

	fieldMaps sync.Map // struct: local reflect.Type -> []int
}

// wireField is a field of a struct descriptor.
type wireField struct {
	name string
	wt   *wireType
}

var primWire [tagDuration + 1]*wireType

func init() {
	goTypes := map[byte]reflect.Type{
		tagBool: reflect.TypeFor[bool](), tagInt: reflect.TypeFor[int](), tagInt8: reflect.TypeFor[int8](),
		tagInt16: reflect.TypeFor[int16](), tagInt32: reflect.TypeFor[int32](), tagInt64: reflect.TypeFor[int64](),
		tagUint: reflect.TypeFor[uint](), tagUint8: reflect.TypeFor[uint8](), tagUint16: reflect.TypeFor[uint16](),
		tagUint32: reflect.TypeFor[uint32](), tagUint64: reflect.TypeFor[uint64](),
		tagFloat32: reflect.TypeFor[float32](), tagFloat64: reflect.TypeFor[float64](),
		tagComplex64: reflect.TypeFor[complex64](), tagComplex128: reflect.TypeFor[complex128](),
		tagString: reflect.TypeFor[string](), tagBytes: bytesType, tagTime: timeType, tagDuration: durationType,
	}
	primWire[tagNil] = &wireType{tag: tagNil, goErr: fmt.Errorf("%w: nil has no type", ErrMalformed)}
	for tag, t := range goTypes {
		size := 1
		switch tag {
		case tagComplex64, tagComplex128, tagTime:
			size = 2
		}
		primWire[tag] = &wireType{tag: tag, goType: t, minSize: size}
	}
}

// fieldMap returns, for each wire field, the index of the local field of
// struct type t with the same name, or -1 to skip it.
func (wt *wireType) fieldMap(t reflect.Type) []int {
	if m, ok := wt.fieldMaps.Load(t); ok {
		return m.([]int)
	}
	local := make(map[string]int)
	for _, f := range wireFields(t) {
		local[f.name] = f.index
	}
	m := make([]int, len(wt.fields))
	for i, f := range wt.fields {
		idx, ok := local[f.name]
		if !ok {
			idx = -1
		}
		m[i] = idx
	}
	actual, _ := wt.fieldMaps.LoadOrStore(t, m)
	return actual.([]int)
}

// descCache caches parsed descriptors by their bytes. It stops growing at
// maxCachedDescs so hostile input cannot fill memory.
type descCache struct {
	mu sync.RWMutex
	m  map[string]*wireType
}

const maxCachedDescs = 4096

func newDescCache() *descCache { return &descCache{m: make(map[string]*wireType)} }

func (c *descCache) get(key []byte) *wireType {
	c.mu.RLock()
	wt := c.m[string(key)]
	c.mu.RUnlock()
	return wt
}

func (c *descCache) put(key []byte, wt *wireType) {
	c.mu.Lock()
	if len(c.m) < maxCachedDescs {
		c.m[string(key)] = wt
	}
	c.mu.Unlock()
}

// desc reads a type descriptor at d.pos.
func (d *decoder) desc() (*wireType, error) {
	if d.pos >= len(d.data) {
		return nil, ErrTruncated
	}
	tag := d.data[d.pos]
	if isPrim(tag) {
		d.pos++
		wt := primWire[tag]
		if wt == nil {
			return nil, fmt.Errorf("%w: reserved tag 0x%02x", ErrMalformed, tag)
		}
		return wt, nil
	}
	start := d.pos
	if err := d.skipDesc(0); err != nil {
		return nil, err
	}
	key := d.data[start:d.pos]
	cache := d.r.descs.Load()
	if wt := cache.get(key); wt != nil {
		return wt, nil
	}
	p := parser{d: &decoder{r: d.r, data: key, lim: d.lim}}
	wt, err := p.parse(0)
	if err != nil {
		return nil, err
	}
	cache.put(key, wt)
	return wt, nil
}

// skipDesc advances over a descriptor without allocating.
func (d *decoder) skipDesc(depth int) error {
	if depth > d.lim.MaxDepth {
		return fmt.Errorf("%w: descriptor deeper than %d", ErrLimit, d.lim.MaxDepth)
	}
	tag, err := d.byte()
	if err != nil {
		return err
	}
	switch {
	case isPrim(tag) && primWire[tag] != nil:
		return nil
	case tag == tagSlice, tag == tagPtr:
		return d.skipDesc(depth + 1)
	case tag == tagArray:
		if _, err := d.uvarint(); err != nil {
			return err
		}
		return d.skipDesc(depth + 1)
	case tag == tagMap:
		if err := d.skipDesc(depth + 1); err != nil {
			return err
		}
		return d.skipDesc(depth + 1)
	case tag == tagIface:
		return nil
	case tag == tagNamed:
		if err := d.skipName(); err != nil {
			return err
		}
		return d.skipDesc(depth + 1)
	case tag == tagRef:
		return d.skipName()
	case tag == tagStruct:
		return d.skipStructDesc(depth)
	}
	return fmt.Errorf("%w: bad descriptor tag 0x%02x", ErrMalformed, tag)
}

func (d *decoder) skipStructDesc(depth int) error {
	if err := d.skipName(); err != nil {
		return err
	}
	n, err := d.length(2)
	if err != nil {
		return err
	}
	for range n {
		if err := d.skipName(); err != nil {
			return err
		}
		if err := d.skipDesc(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) skipName() error {
	n, err := d.length(1)
	if err != nil {
		return err
	}
	d.pos += n
	return nil
}
