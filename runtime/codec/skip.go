package codec

// skip advances over a payload of wt without storing it (a field the
// receiver does not have).
func (d *decoder) skip(wt *wireType, depth int) error {
	if err := d.step(depth); err != nil {
		return err
	}
	switch wt.tag {
	case tagSlice:
		n, err := d.optLength(wt.elem.minSize)
		return d.skipN(wt.elem, n, err, depth)
	case tagArray:
		return d.skipN(wt.elem, wt.n, nil, depth)
	case tagMap:
		n, err := d.optLength(wt.key.minSize + wt.elem.minSize)
		if err != nil {
			return err
		}
		for range n {
			if err := d.skip(wt.key, depth+1); err != nil {
				return err
			}
			if err := d.skip(wt.elem, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tagPtr:
		present, err := d.bool()
		if err != nil || !present {
			return err
		}
		return d.skip(wt.elem, depth+1)
	case tagIface:
		inner, err := d.desc()
		if err != nil || inner.tag == tagNil {
			return err
		}
		return d.skip(inner, depth+1)
	case tagNamed:
		return d.skip(wt.under, depth+1)
	case tagStruct:
		for i := range wt.fields {
			if err := d.skip(wt.fields[i].wt, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return d.skipPrim(wt.tag)
}

func (d *decoder) skipN(elem *wireType, n int, err error, depth int) error {
	if err != nil {
		return err
	}
	for range n {
		if err := d.skip(elem, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) skipPrim(tag byte) error {
	var err error
	switch tag {
	case tagBool, tagInt8, tagUint8:
		_, err = d.byte()
	case tagFloat32:
		_, err = d.float(4)
	case tagFloat64:
		_, err = d.float(8)
	case tagComplex64:
		if _, err = d.float(4); err == nil {
			_, err = d.float(4)
		}
	case tagComplex128:
		if _, err = d.float(8); err == nil {
			_, err = d.float(8)
		}
	case tagString:
		_, err = d.bytes()
	case tagBytes:
		var n int
		if n, err = d.optLength(1); err == nil && n > 0 {
			d.pos += n
		}
	case tagTime:
		_, err = d.time()
	default: // varints
		_, err = d.uvarint()
	}
	return err
}
