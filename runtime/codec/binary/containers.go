package binary

import (
	"fmt"
	"reflect"
)

func (c *compiler) containerPlan(t reflect.Type, p *plan) error {
	switch {
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8:
		p.enc, p.dec, p.minSize = encBytes, decBytes, 4
		return nil
	case t.Kind() == reflect.Map:
		return c.mapPlan(t, p)
	}
	elem := c.compile(t.Elem())
	if elem.err != nil {
		return elem.err
	}
	encElems := func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
		var err error
		for i := range v.Len() {
			if buf, err = elem.enc(buf, v.Index(i), depth+1); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}
	decElems := func(d *decoder, v reflect.Value, depth int) error {
		if elem.minSize == 0 {
			return nil // zero-size elements: nothing on the wire, nothing to set
		}
		for i := range v.Len() {
			if err := elem.dec(d, v.Index(i), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if t.Kind() == reflect.Array {
		p.minSize = sat(t.Len(), elem.minSize)
		p.enc = encElems
		p.dec = func(d *decoder, v reflect.Value, depth int) error {
			if err := d.deeper(depth); err != nil {
				return err
			}
			return decElems(d, v, depth)
		}
		return nil
	}
	p.minSize = 4
	p.enc = func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
		buf, err := appendCount(buf, v.Len())
		if err != nil {
			return buf, err
		}
		return encElems(buf, v, depth)
	}
	p.dec = func(d *decoder, v reflect.Value, depth int) error {
		n, err := d.count(elem.minSize, depth)
		if err != nil {
			return err
		}
		if n == 0 {
			v.SetZero()
			return nil
		}
		if err := d.chargeN(n, t.Elem()); err != nil {
			return err
		}
		v.Set(reflect.MakeSlice(t, n, n))
		return decElems(d, v, depth)
	}
	return nil
}

func (c *compiler) mapPlan(t reflect.Type, p *plan) error {
	key := c.compile(t.Key())
	if key.err != nil {
		return key.err
	}
	elem := c.compile(t.Elem())
	if elem.err != nil {
		return elem.err
	}
	p.minSize = 4
	p.enc = func(buf []byte, v reflect.Value, depth int) ([]byte, error) {
		buf, err := appendCount(buf, v.Len())
		if err != nil {
			return buf, err
		}
		it := v.MapRange()
		for it.Next() {
			if buf, err = key.enc(buf, it.Key(), depth+1); err != nil {
				return buf, err
			}
			if buf, err = elem.enc(buf, it.Value(), depth+1); err != nil {
				return buf, err
			}
		}
		return buf, nil
	}
	p.dec = func(d *decoder, v reflect.Value, depth int) error {
		n, err := d.count(key.minSize+elem.minSize, depth)
		if err != nil {
			return err
		}
		if n == 0 {
			v.SetZero()
			return nil
		}
		if key.minSize+elem.minSize == 0 {
			n = min(n, 1) // zero-size keys are all equal: one entry, and no loop of MaxLen
		}
		const presize = 1024
		if err := d.chargeMap(min(n, presize), t); err != nil {
			return err
		}
		m := reflect.MakeMapWithSize(t, min(n, presize))
		k := reflect.New(t.Key()).Elem()
		e := reflect.New(t.Elem()).Elem()
		for i := range n {
			if i >= presize {
				// Growth is charged as entries arrive, against the
				// bytes they actually took.
				if err := d.chargeMap(1, t); err != nil {
					return err
				}
			}
			k.SetZero()
			e.SetZero()
			if err := key.dec(d, k, depth+1); err != nil {
				return err
			}
			if err := elem.dec(d, e, depth+1); err != nil {
				return err
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
		return nil
	}
	return nil
}

// sat multiplies sizes, saturating well below overflow.
func sat(a, b int) int {
	if a != 0 && b > (1<<40)/a {
		return 1 << 40
	}
	return a * b
}

func appendCount(buf []byte, n int) ([]byte, error) {
	if uint64(n) > 0xffffffff {
		return buf, fmt.Errorf("length %d does not fit the uint32 prefix", n)
	}
	return append(buf, byte(n), byte(n>>8), byte(n>>16), byte(n>>24)), nil
}
