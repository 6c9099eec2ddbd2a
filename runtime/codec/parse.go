package codec

import (
	"fmt"
	"reflect"
)

// parser turns descriptor bytes (already delimited by skipDesc) into a
// wireType tree, resolving names against the registry.
type parser struct {
	d     *decoder
	stack []*wireType // enclosing named and struct descriptors
}

func (p *parser) parse(depth int) (*wireType, error) {
	wt, err := p.parseTag(depth)
	if err == nil && !isPrim(wt.tag) && wt.goType != nil {
		wt.noPtr = noPointers(wt.goType)
	}
	return wt, err
}

func (p *parser) parseTag(depth int) (*wireType, error) {
	d := p.d
	if depth > d.lim.MaxDepth {
		return nil, fmt.Errorf("%w: descriptor deeper than %d", ErrLimit, d.lim.MaxDepth)
	}
	tag, err := d.byte()
	if err != nil {
		return nil, err
	}
	if isPrim(tag) {
		if wt := primWire[tag]; wt != nil && (tag != tagNil || depth == 0) {
			return wt, nil
		}
		return nil, fmt.Errorf("%w: misplaced tag 0x%02x", ErrMalformed, tag)
	}
	switch tag {
	case tagSlice, tagPtr, tagArray:
		return p.parseElem(tag, depth)
	case tagMap:
		return p.parseMap(depth)
	case tagIface:
		return &wireType{tag: tagIface, goType: anyType, minSize: 1}, nil
	case tagNamed:
		return p.parseNamed(depth)
	case tagStruct:
		return p.parseStruct(depth)
	case tagRef:
		name, err := p.name()
		if err != nil {
			return nil, err
		}
		for i := len(p.stack) - 1; i >= 0; i-- {
			if p.stack[i].name == name {
				return p.stack[i], nil
			}
		}
		return nil, fmt.Errorf("%w: reference to %q outside its definition", ErrMalformed, name)
	}
	return nil, fmt.Errorf("%w: bad descriptor tag 0x%02x", ErrMalformed, tag)
}

func (p *parser) name() (string, error) { return p.d.name() }

func (p *parser) parseElem(tag byte, depth int) (*wireType, error) {
	wt := &wireType{tag: tag, minSize: 1}
	if tag == tagArray {
		n, err := p.d.length(0)
		if err != nil {
			return nil, err
		}
		wt.n = n
	}
	elem, err := p.parse(depth + 1)
	if err != nil {
		return nil, err
	}
	wt.elem = elem
	kind := reflect.Slice
	switch tag {
	case tagPtr:
		kind = reflect.Pointer
	case tagArray:
		kind = reflect.Array
		wt.minSize = sat(wt.n, elem.minSize)
		if wt.visits = sat(wt.n, max(elem.visits, 1)); wt.visits > p.d.lim.MaxLen {
			return nil, fmt.Errorf("%w: array of %d values larger than MaxLen", ErrLimit, wt.visits)
		}
	}
	if elem.goType == nil {
		wt.goErr = elem.goErr
		return wt, nil
	}
	wt.goType, wt.goErr = p.d.r.made.make(kind, nil, elem.goType, wt.n)
	return wt, nil
}

// sat multiplies small sizes, saturating well below overflow.
func sat(a, b int) int {
	if a != 0 && b > (1<<40)/a {
		return 1 << 40
	}
	return a * b
}

func (p *parser) parseMap(depth int) (*wireType, error) {
	key, err := p.parse(depth + 1)
	if err != nil {
		return nil, err
	}
	elem, err := p.parse(depth + 1)
	if err != nil {
		return nil, err
	}
	wt := &wireType{tag: tagMap, key: key, elem: elem, minSize: 1}
	switch {
	case key.goType == nil:
		wt.goErr = key.goErr
	case elem.goType == nil:
		wt.goErr = elem.goErr
	case !key.goType.Comparable():
		return nil, fmt.Errorf("%w: map key type %v is not comparable", ErrMalformed, key.goType)
	default:
		wt.goType, wt.goErr = p.d.r.made.make(reflect.Map, key.goType, elem.goType, 0)
	}
	return wt, nil
}

func (p *parser) parseNamed(depth int) (*wireType, error) {
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	wt := &wireType{tag: tagNamed, name: name}
	local, known := p.d.r.typeOf(name)
	if known {
		wt.goType = local // set before parsing so that refs see it
	}
	p.stack = append(p.stack, wt)
	under, err := p.parse(depth + 1)
	p.stack = p.stack[:len(p.stack)-1]
	if err != nil {
		return nil, err
	}
	if under.tag == tagNil || under.tag == tagRef && under == wt {
		return nil, fmt.Errorf("%w: named type %q has no underlying type", ErrMalformed, name)
	}
	wt.under = under
	wt.minSize = under.minSize
	switch {
	case !known:
		wt.goType, wt.goErr = under.goType, under.goErr
	case under.goType != nil && under.goType.Kind() != local.Kind():
		wt.goType = nil
		wt.goErr = fmt.Errorf("%w: %q is %v here but %v on the wire", ErrTypeMismatch, name, local.Kind(), under.goType.Kind())
	}
	return wt, nil
}

func (p *parser) parseStruct(depth int) (*wireType, error) {
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	wt := &wireType{tag: tagStruct, name: name}
	if local, ok := p.d.r.typeOf(name); ok && local.Kind() == reflect.Struct {
		wt.goType = local
	} else {
		wt.goErr = fmt.Errorf("%w: struct %q is not registered here", ErrUnknownType, name)
	}
	n, err := p.d.length(2)
	if err != nil {
		return nil, err
	}
	p.stack = append(p.stack, wt)
	defer func() { p.stack = p.stack[:len(p.stack)-1] }()
	wt.fields = make([]wireField, n)
	for i := range wt.fields {
		f := &wt.fields[i]
		if f.name, err = p.name(); err != nil {
			return nil, err
		}
		if f.wt, err = p.parse(depth + 1); err != nil {
			return nil, fmt.Errorf("field %s of %q: %w", f.name, name, err)
		}
		wt.minSize = sat(1, wt.minSize+f.wt.minSize)
	}
	return wt, nil
}
