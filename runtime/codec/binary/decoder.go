package binary

import (
	"fmt"
	"math"
	"reflect"

	"github.com/lotou-io/lotou/runtime/codec"
)

// decoder reads one input and tracks the allocation budget.
type decoder struct {
	data  []byte
	pos   int
	lim   limits
	alloc int64
	// committed is the input position a successful decode is sure to
	// reach; allocation is bounded by codec.AllocPerByte per byte of it.
	committed int
}

// limits is codec.Limits in two words, so that a decoder stays in a
// 64-byte allocation class.
type limits struct {
	MaxLen, MaxDepth int32
	MaxAlloc         int64
}

func newLimits(l codec.Limits) limits {
	l = l.WithDefaults()
	return limits{MaxLen: int32(min(l.MaxLen, math.MaxInt32)), MaxDepth: int32(min(l.MaxDepth, math.MaxInt32)), MaxAlloc: l.MaxAlloc} //nolint:gosec // clamped
}

func (d *decoder) read(n int) ([]byte, error) {
	if n > len(d.data)-d.pos {
		return nil, codec.ErrTruncated
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

func (d *decoder) deeper(depth int) error {
	if depth >= int(d.lim.MaxDepth) {
		return fmt.Errorf("%w: nesting deeper than MaxDepth %d", codec.ErrLimit, d.lim.MaxDepth)
	}
	return nil
}

// count reads a uint32 count of items of at least minSize bytes each.
func (d *decoder) count(minSize, depth int) (int, error) {
	if err := d.deeper(depth); err != nil {
		return 0, err
	}
	b, err := d.read(4)
	if err != nil {
		return 0, err
	}
	n := int(le.Uint32(b))
	if n > int(d.lim.MaxLen) {
		return 0, fmt.Errorf("%w: count %d > MaxLen %d", codec.ErrLimit, n, d.lim.MaxLen)
	}
	if minSize > 0 {
		if n > (len(d.data)-d.pos)/minSize {
			return 0, fmt.Errorf("%w: count %d exceeds the %d bytes left", codec.ErrTruncated, n, len(d.data)-d.pos)
		}
		d.committed = max(d.committed, d.pos+n*minSize)
	}
	return n, nil
}

// need checks that at least n more bytes are left before allocating for a
// value whose encoding takes at least n bytes.
func (d *decoder) need(n int) error {
	if n > len(d.data)-d.pos {
		return fmt.Errorf("%w: a value of at least %d bytes with %d bytes left", codec.ErrTruncated, n, len(d.data)-d.pos)
	}
	d.committed = max(d.committed, d.pos+n)
	return nil
}

// bytes reads a length-prefixed byte string, charging its copy.
func (d *decoder) bytes() ([]byte, error) {
	n, err := d.count(1, 0)
	if err != nil {
		return nil, err
	}
	if err := d.charge(int64(n)); err != nil {
		return nil, err
	}
	return d.read(n)
}

func (d *decoder) charge(n int64) error {
	d.alloc += n
	if d.alloc > d.lim.MaxAlloc {
		return fmt.Errorf("%w: decoding would allocate more than MaxAlloc %d bytes", codec.ErrLimit, d.lim.MaxAlloc)
	}
	if d.alloc <= codec.AllocSlack {
		return nil
	}
	if share := codec.AllocPerByte*int64(max(d.committed, d.pos)) + codec.AllocSlack; d.alloc > share {
		return fmt.Errorf("%w: decoding would allocate %d bytes for %d input bytes (at most %d per byte)",
			codec.ErrLimit, d.alloc, max(d.committed, d.pos), codec.AllocPerByte)
	}
	return nil
}

// chargeMap charges a map of n entries of type t: a slot per entry plus
// a control byte, at most 8/7 full, and the tables outgrown on the way.
func (d *decoder) chargeMap(n int, t reflect.Type) error {
	slot := int64(t.Key().Size() + t.Elem().Size() + 1) //nolint:gosec // type sizes fit in int64
	if int64(n) > d.lim.MaxAlloc/(2*slot) {
		return fmt.Errorf("%w: map of %d %v exceeds MaxAlloc %d", codec.ErrLimit, n, t, d.lim.MaxAlloc)
	}
	return d.charge(2 * int64(n) * slot)
}

func (d *decoder) chargeN(n int, t reflect.Type) error {
	size := int64(t.Size()) //nolint:gosec // type sizes fit in int64
	if size != 0 && int64(n) > d.lim.MaxAlloc/size {
		return fmt.Errorf("%w: %d elements of %v exceed MaxAlloc %d", codec.ErrLimit, n, t, d.lim.MaxAlloc)
	}
	return d.charge(int64(n) * size)
}
