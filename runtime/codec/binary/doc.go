// Package binary is Lotou's schema-known codec for game clients: like
// encoding/json's Marshal and Unmarshal on Go structs, but compact. Both
// ends know the schema, so nothing but the values is sent.
//
// # Wire format
//
// Values are written in declaration order with no type tags, little-endian:
//
//	bool                 1 byte, 0 or 1
//	int8, uint8          1 byte
//	int16, uint16        2 bytes
//	int32, uint32        4 bytes
//	int, int64, uint,
//	uint64               8 bytes
//	float32              4 bytes IEEE-754
//	float64              8 bytes IEEE-754
//	complex64/128        real then imaginary part
//	string, []byte       uint32 byte length, then the bytes
//	slice                uint32 count, then the elements
//	array [N]T           the N elements, no count
//	map                  uint32 count, then key, value pairs (unordered)
//	pointer              1 presence byte (0 nil, 1 present), then the element
//	struct               its exported fields in order; a field tagged
//	                     `lotou:"-"` is skipped
//	time.Time            int64 Unix seconds, uint32 nanoseconds; decodes as UTC
//	time.Duration        as int64
//
// Interfaces, channels, functions and uintptr cannot be encoded
// (codec.ErrUnsupported). Nil and empty slices and maps are both written as
// count 0 and decode as nil; decoding into a nil slice, map or pointer
// allocates it. Strings and slices of any size (MBs) work, up to the limits.
//
// # Limits
//
// Unmarshal never panics on hostile input and obeys codec.Limits: counts
// above MaxLen, nesting deeper than MaxDepth and decodes that would allocate
// more than MaxAlloc bytes fail with codec.ErrLimit; short input fails with
// codec.ErrTruncated. Counts are also checked against the bytes left, and
// so is the encoded size of a pointed-to value before it is allocated. A
// decode allocates at most codec.AllocPerByte bytes per input byte it is
// sure to consume plus codec.AllocSlack: a type much larger in memory than
// on the wire (a struct of unexported fields, an array behind a pointer)
// cannot be used to turn a short input into a large allocation
// (codec.ErrLimit). FuzzUnmarshalAlloc asserts the bound.
package binary
