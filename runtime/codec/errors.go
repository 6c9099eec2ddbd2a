package codec

import "errors"

// Errors returned by the encoders and decoders. They are wrapped with context
// (the type or field involved); test them with errors.Is.
var (
	// ErrTruncated means the input ended in the middle of a value.
	ErrTruncated = errors.New("codec: truncated input")
	// ErrMalformed means the input is not a valid encoding (bad tag, bad
	// varint, invalid descriptor).
	ErrMalformed = errors.New("codec: malformed input")
	// ErrUnknownType means a struct or named type is not registered.
	ErrUnknownType = errors.New("codec: unknown type")
	// ErrLimit means a length, depth or allocation limit was exceeded.
	ErrLimit = errors.New("codec: limit exceeded")
	// ErrTypeMismatch means the encoded value cannot be stored in the target.
	ErrTypeMismatch = errors.New("codec: type mismatch")
	// ErrUnsupported means the Go type cannot be encoded (chan, func,
	// unsafe.Pointer, uintptr).
	ErrUnsupported = errors.New("codec: unsupported type")
	// ErrTrailing means bytes were left after the value.
	ErrTrailing = errors.New("codec: trailing bytes after value")
	// ErrInternal reports a recovered internal panic; it is a bug in codec.
	ErrInternal = errors.New("codec: internal error")
)

// Limits bound the work a decoder does on one input, so that hostile bytes
// cannot exhaust memory or stack. The zero value of a field means "use the
// default".
type Limits struct {
	// MaxLen caps the length of any string, byte slice, slice, array or map.
	MaxLen int
	// MaxDepth caps nesting (containers, pointers, structs, interfaces).
	MaxDepth int
	// MaxAlloc caps the total bytes one decode call may allocate for
	// strings, slices, maps and pointed-to values.
	MaxAlloc int64
}

// Default limits, used for zero fields of Limits.
const (
	DefaultMaxLen   = 1 << 24
	DefaultMaxDepth = 64
	DefaultMaxAlloc = 64 << 20
)

// Allocation is also bounded by the input: a decode may allocate at most
// AllocPerByte bytes per input byte it is sure to consume plus AllocSlack,
// whatever MaxAlloc says, so a short input never costs much memory. Lengths
// (of slices, maps, arrays, strings) are checked against the bytes left
// before anything is allocated for them.
const (
	AllocPerByte = 64
	AllocSlack   = 4 << 10
)

// WorkSlack bounds the CPU a decode spends on values that take no input
// bytes (empty structs, arrays of length 0, slices of them): one decode
// visits at most WorkSlack values plus 4 per input byte, whatever MaxLen
// says, so 9 bytes cannot declare 16M values.
const WorkSlack = 1 << 16

// MaxMadeTypes bounds the distinct composite Go types (slices, arrays, maps,
// pointers of wire types) one Registry builds to decode values into their
// natural type. The Go runtime never frees a type made with reflect, so
// without a bound a stream of distinct array lengths would leak memory.
// Past it, values of new shapes still decode into typed destinations
// (DecodeValueInto, DecodeArgsTo) but not into interfaces: ErrLimit.
// Arrays whose natural type would be larger than MaxMadeArrayBytes are never
// made (their runtime pointer masks are large); they too decode only into
// typed destinations.
const (
	MaxMadeTypes      = 1024
	MaxMadeArrayBytes = 64 << 10
)

// DefaultLimits returns the limits used when none are configured.
func DefaultLimits() Limits {
	return Limits{MaxLen: DefaultMaxLen, MaxDepth: DefaultMaxDepth, MaxAlloc: DefaultMaxAlloc}
}

// WithDefaults returns l with each zero or negative field replaced by its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxLen <= 0 {
		l.MaxLen = DefaultMaxLen
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxAlloc <= 0 {
		l.MaxAlloc = DefaultMaxAlloc
	}
	return l
}
