package codec

import "fmt"

// Names (of structs, named types and fields) are usually short ASCII
// identifiers, so the short form writes their bytes with the high bit of
// the last byte set. Names that are empty or not 7-bit (bytes 0x01-0x7f)
// use the long form: a 0x80 byte, a uvarint length, the bytes.
const (
	longName   = 0x80
	maxNameLen = 255
)

func appendName(buf []byte, name string) []byte {
	short := name != "" && len(name) <= maxNameLen
	for i := 0; short && i < len(name); i++ {
		short = name[i] != 0 && name[i] < 0x80
	}
	if !short {
		return AppendString(append(buf, longName), name)
	}
	buf = append(buf, name...)
	buf[len(buf)-1] |= 0x80
	return buf
}

// nameSpan reads a name at d.pos and returns its raw bytes and form.
func (d *decoder) nameSpan() (raw []byte, short bool, err error) {
	if d.pos >= len(d.data) {
		return nil, false, ErrTruncated
	}
	if d.data[d.pos] == longName {
		d.pos++
		n, err := d.length(1)
		if err != nil {
			return nil, false, err
		}
		if n > maxNameLen {
			return nil, false, fmt.Errorf("%w: name of %d bytes", ErrMalformed, n)
		}
		raw = d.data[d.pos : d.pos+n]
		d.pos += n
		return raw, false, nil
	}
	for i, b := range d.data[d.pos:] {
		if i >= maxNameLen {
			break
		}
		if b&0x80 != 0 {
			raw = d.data[d.pos : d.pos+i+1]
			d.pos += i + 1
			return raw, true, nil
		}
	}
	if len(d.data)-d.pos < maxNameLen {
		return nil, false, ErrTruncated
	}
	return nil, false, fmt.Errorf("%w: name longer than %d bytes", ErrMalformed, maxNameLen)
}

func (d *decoder) skipName() error {
	_, _, err := d.nameSpan()
	return err
}

// name reads a name as a string.
func (d *decoder) name() (string, error) {
	raw, short, err := d.nameSpan()
	if err != nil || !short {
		return string(raw), err
	}
	b := []byte(string(raw))
	b[len(b)-1] &^= 0x80
	if b[0] == 0 && len(b) == 1 {
		return "", fmt.Errorf("%w: NUL name", ErrMalformed)
	}
	return string(b), nil
}
