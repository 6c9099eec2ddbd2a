package codec

import (
	"bytes"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
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
	minSize int  // smallest payload in bytes, to bound lengths by input left
	visits  int  // arrays: values in one payload, bounded by MaxLen
	noPtr   bool // goType holds no pointers (see arena.go)

	// goType is the natural Go type values of this descriptor decode to;
	// nil if unknown here, with goErr saying why.
	goType reflect.Type
	goErr  error

	lastMap   atomic.Pointer[fieldMap] // struct: the most recent entry of fieldMaps
	fieldMaps sync.Map                 // struct: local reflect.Type -> *fieldMap
}

// fieldMap maps the fields of a struct descriptor to a local struct type.
type fieldMap struct {
	t    reflect.Type
	idx  []int     // local field index per wire field, -1 to skip
	fast []byte    // per wire field: a pointer decoder op, or opNone
	off  []uintptr // per wire field: the local field's offset
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
		primWire[tag] = &wireType{tag: tag, goType: t, minSize: size, noPtr: noPointers(t)}
	}
}

// fieldMap returns, for each wire field, the index of the local field of
// struct type t with the same name, or -1 to skip it.
func (wt *wireType) fieldMap(t reflect.Type) *fieldMap {
	if fm := wt.lastMap.Load(); fm != nil && fm.t == t {
		return fm
	}
	if m, ok := wt.fieldMaps.Load(t); ok {
		wt.lastMap.Store(m.(*fieldMap))
		return m.(*fieldMap)
	}
	local := make(map[string]int)
	for _, f := range wireFields(t) {
		local[f.name] = f.index
	}
	fm := &fieldMap{t: t, idx: make([]int, len(wt.fields)), fast: make([]byte, len(wt.fields)), off: make([]uintptr, len(wt.fields))}
	for i, f := range wt.fields {
		idx, ok := local[f.name]
		if !ok {
			idx = -1
		} else {
			fm.fast[i] = ptrOp(f.wt.tag, t.Field(idx).Type)
			fm.off[i] = t.Field(idx).Offset
		}
		fm.idx[i] = idx
	}
	actual, _ := wt.fieldMaps.LoadOrStore(t, fm)
	wt.lastMap.Store(actual.(*fieldMap))
	return actual.(*fieldMap)
}

// descCache caches parsed descriptors by their bytes. Lookups are lock-free
// (copy-on-write maps, sharded so that adding a descriptor copies at most
// maxShardDescs entries); it stops growing at maxCachedDescs so hostile
// input cannot fill memory.
type descCache struct {
	mu     sync.Mutex // serialises writers
	shards [descShards]atomic.Pointer[map[string]*wireType]
	hot    [16]atomic.Pointer[hotDesc]
}

// hotDesc is a recently used descriptor. Descriptors are self-delimiting, so
// if the input at the read position starts with one, that is the
// descriptor there: no need to walk it to find its end.
type hotDesc struct {
	key []byte
	wt  *wireType
}

func hotSlot(data []byte) int {
	h := len(data)
	for i := range min(len(data), 4) {
		h = h*31 + int(data[i])
	}
	return h & 15
}

// lookupHot returns the hot descriptor that data starts with, if any.
func (c *descCache) lookupHot(data []byte) *hotDesc {
	if len(data) < 4 {
		return nil
	}
	h := c.hot[hotSlot(data[:4])].Load()
	if h != nil && bytes.HasPrefix(data, h.key) {
		return h
	}
	return nil
}

func (c *descCache) putHot(key []byte, wt *wireType) {
	if len(key) >= 4 {
		c.hot[hotSlot(key[:4])].Store(&hotDesc{key: bytes.Clone(key), wt: wt})
	}
}

const (
	maxCachedDescs = 4096
	descShards     = 64
	maxShardDescs  = maxCachedDescs / descShards
)

func newDescCache() *descCache {
	c := &descCache{}
	for i := range c.shards {
		m := make(map[string]*wireType)
		c.shards[i].Store(&m)
	}
	return c
}

func descShard(key []byte) int {
	h := uint(len(key))
	for _, b := range key {
		h = h*31 + uint(b)
	}
	return int(h % descShards)
}

func (c *descCache) get(key []byte) *wireType {
	return (*c.shards[descShard(key)].Load())[string(key)]
}

func (c *descCache) put(key []byte, wt *wireType) {
	c.mu.Lock()
	defer c.mu.Unlock()
	shard := &c.shards[descShard(key)]
	old := *shard.Load()
	if len(old) >= maxShardDescs {
		return
	}
	m := make(map[string]*wireType, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[string(key)] = wt
	shard.Store(&m)
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
	cache := d.r.descs.Load()
	if h := cache.lookupHot(d.data[d.pos:]); h != nil {
		d.pos += len(h.key)
		return h.wt, nil
	}
	start := d.pos
	if err := d.skipDesc(0); err != nil {
		return nil, err
	}
	key := d.data[start:d.pos]
	if wt := cache.get(key); wt != nil {
		cache.putHot(key, wt)
		return wt, nil
	}
	p := parser{d: &decoder{r: d.r, data: key, lim: d.lim}}
	wt, err := p.parse(0)
	if err != nil {
		return nil, err
	}
	cache.put(key, wt)
	cache.putHot(key, wt)
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
