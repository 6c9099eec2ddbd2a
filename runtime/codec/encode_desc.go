package codec

import (
	"fmt"
	"reflect"
	"slices"
)

// maxDescNesting bounds descriptor recursion for unregistered recursive types.
const maxDescNesting = 100

// primTags maps primitive kinds to their tags.
var primTags = map[reflect.Kind]byte{
	reflect.Bool: tagBool, reflect.Int: tagInt, reflect.Int8: tagInt8, reflect.Int16: tagInt16,
	reflect.Int32: tagInt32, reflect.Int64: tagInt64, reflect.Uint: tagUint, reflect.Uint8: tagUint8,
	reflect.Uint16: tagUint16, reflect.Uint32: tagUint32, reflect.Uint64: tagUint64,
	reflect.Float32: tagFloat32, reflect.Float64: tagFloat64, reflect.Complex64: tagComplex64,
	reflect.Complex128: tagComplex128, reflect.String: tagString,
}

// desc appends the type descriptor of t. stack holds the names of the
// enclosing named and struct descriptors, for back-references.
func (c *compiler) desc(buf []byte, t reflect.Type, stack []string) ([]byte, error) {
	if len(stack) > maxDescNesting {
		return buf, fmt.Errorf("%w: type %v nests too deeply (recursive unregistered type?)", ErrUnsupported, t)
	}
	switch t {
	case timeType:
		return append(buf, tagTime), nil
	case durationType:
		return append(buf, tagDuration), nil
	}
	name, registered := c.r.nameOf(t)
	if t.Kind() == reflect.Struct {
		if !registered {
			return buf, fmt.Errorf("%w: struct type %v is not registered", ErrUnknownType, t)
		}
		if slices.Contains(stack, name) {
			return appendName(append(buf, tagRef), name), nil
		}
		return c.structDesc(buf, t, name, append(stack, name))
	}
	if registered {
		if slices.Contains(stack, name) {
			return appendName(append(buf, tagRef), name), nil
		}
		buf = appendName(append(buf, tagNamed), name)
		return c.kindDesc(buf, t, append(stack, name))
	}
	return c.kindDesc(buf, t, append(stack, ""))
}

// kindDesc appends the descriptor of t's underlying structure.
func (c *compiler) kindDesc(buf []byte, t reflect.Type, stack []string) ([]byte, error) {
	if tag, ok := primTags[t.Kind()]; ok {
		return append(buf, tag), nil
	}
	switch t.Kind() {
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			if _, named := c.r.nameOf(t.Elem()); !named {
				return append(buf, tagBytes), nil
			}
		}
		return c.desc(append(buf, tagSlice), t.Elem(), stack)
	case reflect.Array:
		buf = AppendUvarint(append(buf, tagArray), uint64(t.Len()))
		return c.desc(buf, t.Elem(), stack)
	case reflect.Map:
		buf, err := c.desc(append(buf, tagMap), t.Key(), stack)
		if err != nil {
			return buf, err
		}
		return c.desc(buf, t.Elem(), stack)
	case reflect.Pointer:
		return c.desc(append(buf, tagPtr), t.Elem(), stack)
	case reflect.Interface:
		return append(buf, tagIface), nil
	default:
		return buf, fmt.Errorf("%w: %v of kind %v", ErrUnsupported, t, t.Kind())
	}
}

func (c *compiler) structDesc(buf []byte, t reflect.Type, name string, stack []string) ([]byte, error) {
	fields := wireFields(t)
	buf = appendName(append(buf, tagStruct), name)
	buf = AppendUvarint(buf, uint64(len(fields)))
	var err error
	for _, f := range fields {
		buf = appendName(buf, f.name)
		if buf, err = c.desc(buf, t.Field(f.index).Type, stack); err != nil {
			return buf, fmt.Errorf("field %s of %v: %w", f.name, t, err)
		}
	}
	return buf, nil
}
