// Package codec encodes Lotou message arguments for the wire.
//
// It holds two codecs with one set of limits and errors:
//
//   - the "gob" codec (Lotou's own, unrelated to encoding/gob): self-describing,
//     used between nodes. Any combination of arguments can be sent as long as
//     sender and receiver agree on the message signature. See [Registry].
//   - the "binary" codec (sub-package binary): schema-known, for game clients.
//
// Inside a node messages are passed by reference and never encoded.
//
// # Registry
//
// A [Registry] holds the registered user types (structs and named types such
// as a ServiceID) by stable name, the per-type encoder plans (compiled once per
// reflect.Type and cached) and the decoding [Limits]. There is no package-level
// registry: create one with [NewRegistry] and pass it to whoever encodes or
// decodes. Both ends must register the same names; registration order does not
// matter and there is no limit on the number of types.
//
// # Wire format ("gob", version 1)
//
// All multi-byte integers are varints as in encoding/binary: an unsigned
// integer is a uvarint (7 bits per byte, least significant group first, high
// bit set on every byte but the last, at most 10 bytes); a signed integer is
// zig-zag mapped ((n << 1) ^ (n >> 63)) then written as a uvarint. A "string"
// is a uvarint byte length followed by the UTF-8 bytes. A "name" (of a
// registered type or a struct field, at most 255 bytes) made only of bytes
// 0x01-0x7f is written as those bytes with the high bit of the last one set
// ("Name" is 4e 61 6d e5); any other name is a 0x80 byte then a string.
//
// A value is a type descriptor followed by a payload:
//
//	value      = desc payload
//	args       = uvarint(count) value*          (an argument list, []any)
//
// A descriptor is a tree of one-byte tags:
//
//	0x00 nil          a nil interface; no payload
//	0x01 bool         payload: 1 byte, 0 or 1
//	0x02 int          payload: zig-zag varint
//	0x03 int8         payload: 1 byte
//	0x04 int16        payload: zig-zag varint
//	0x05 int32        payload: zig-zag varint
//	0x06 int64        payload: zig-zag varint
//	0x07 uint         payload: uvarint
//	0x08 uint8        payload: 1 byte
//	0x09 uint16       payload: uvarint
//	0x0a uint32       payload: uvarint
//	0x0b uint64       payload: uvarint
//	0x0c float32      payload: compact float (below)
//	0x0d float64      payload: compact float
//	0x0e complex64    payload: two compact float32 (real, imaginary)
//	0x0f complex128   payload: two compact float64
//	0x10 string       payload: uvarint length, bytes
//	0x11 bytes        []byte. payload: uvarint(len+1) then bytes; 0 means nil
//	0x12 time         time.Time. payload: zig-zag varint Unix seconds,
//	                  uvarint(nanoseconds<<1 | zoned), and if zoned a zig-zag
//	                  varint zone offset in seconds east of UTC. Not zoned
//	                  means UTC. The monotonic reading is dropped.
//	0x13 duration     time.Duration. payload: zig-zag varint nanoseconds
//	0x20 slice E      payload: uvarint(len+1), 0 means nil, then len payloads of E
//	0x21 array N E    N is a uvarint in the descriptor; payload: N payloads of E
//	0x22 map K V      payload: uvarint(len+1), 0 means nil, then len (K, V) payloads
//	0x23 ptr E        payload: 1 byte, 0 for nil or 1 followed by a payload of E
//	0x24 iface        an interface-typed slot: the payload is a full value
//	                  (desc payload), so each element carries its own type
//	0x25 named N U    a registered named non-struct type called N (a name)
//	                  with underlying descriptor U; payload: U's payload
//	0x26 struct N F (name desc)*F   (F a uvarint)
//	                  a registered struct called N with F exported fields,
//	                  each given by name and descriptor; payload: the F field
//	                  payloads in descriptor order
//	0x27 ref N        back-reference to the enclosing named or struct
//	                  descriptor called N (recursive types); payload as for it
//
// Homogeneous slices, arrays and maps therefore carry their element type once;
// only interface-typed elements ([]any, map[string]any) carry a type per element.
//
// A compact float is the shorter of two forms, chosen by its first byte:
//
//   - 0x00-0x08 (0x00-0x04 for float32): n, then the n most significant bytes
//     of the IEEE-754 bits, most significant first; the dropped low bytes are
//     zero. 0 takes 1 byte, 1.0 and 0.5 take 3, an arbitrary float64 takes 9.
//   - 0x10|e, e in 0..8: a zig-zag varint m (|m| < 2^53) follows and the value
//     is float64(m) / 10^e (converted to float32 for float32). Used only when
//     it is shorter and decodes to exactly the same bits: 1234.56 takes 4
//     bytes, 12.34 takes 3.
//
// So Call(svc, 42)'s argument list [42] is 3 bytes: 01 02 54, and a
// registered struct Point{X, Y int32} named "codec.Point" with value {1, -1}
// is 26 636f6465632e506f696ef4 02 d8 05 d9 05 02 01.
//
// # Decoding and evolution
//
// [Registry.DecodeArgs] and [Registry.DecodeValue] return each value with its
// natural Go type: an int arrives as int, a registered named type as that
// type, a registered struct as the struct value (or a pointer to it if a
// pointer was sent), a nil interface as nil, a nil slice, map or pointer as a
// typed nil. A named type that the receiver has not registered decodes as its
// underlying type; a struct the receiver has not registered is an
// [ErrUnknownType] error naming it.
//
// [Registry.ReadArgsInto] and [Registry.DecodeArgsInto] decode an argument
// list into a caller's reused slice: a receiver that does not keep the
// slice decodes small lists without allocating it. Small boxed values
// (numbers, short strings and slices, pointer-free structs) and string and
// slice headers are carved from two small chunks per decode (arena.go), so
// a typical list (int, string, []int32, struct) takes 3 allocations with a
// new slice and 2 with a reused one. A value the receiver keeps keeps its
// chunk alive: at most 256 bytes.
//
// [Registry.DecodeArgsTo] and [Registry.DecodeArgsValues] decode an
// argument list straight into typed destinations (pointers, or settable
// reflect.Values such as a handler's parameters), converting as
// DecodeValueInto does, with no []any step and no allocation for bool,
// integer, float, time.Time and time.Duration parameters.
//
// Struct fields are matched by name (or by the `lotou:"name"` tag; `lotou:"-"`
// skips a field), so a field added on one side is skipped by the other and a
// missing field keeps its zero value: nodes on two versions of a struct
// interoperate. A field whose type changed incompatibly is an
// [ErrTypeMismatch] error. Integers decode into any integer kind of the same
// signedness that holds the value, floats into either float kind.
//
// # Limits and hostile input
//
// Decoders never panic: truncated input is [ErrTruncated], bad tags are
// [ErrMalformed], and [Limits] cap the length of any string, slice or map
// (MaxLen), the nesting depth (MaxDepth) and the total bytes a single decode
// may allocate (MaxAlloc) ([ErrLimit]). Internal panics are recovered into
// [ErrInternal] at the API edge.
//
// Memory is also bounded by the input itself. Every length, and the
// smallest payload of every array, struct and pointed-to value, is checked
// against the bytes left before anything is allocated for it: an array of
// N elements needs N times its element's smallest payload. The bytes a
// decode may allocate are at most [AllocPerByte] (64) per input byte it is
// sure to consume plus [AllocSlack] (4 KiB), so 7 bytes declaring a
// [1<<20]int64 fail with ErrTruncated before allocating it, and a slice of
// registered structs whose wire form has none of their (large) fields fails
// with ErrLimit. Maps are charged a slot and a control byte per entry, twice
// for growth. CPU is bounded the same way: a decode visits at most
// [WorkSlack] (65536) values plus 4 per input byte, so a slice of MaxLen
// zero-size values ([0]int64, empty structs) declared in 9 bytes is
// ErrLimit, not 16M loop turns. The fuzz targets FuzzDecodeAlloc (here) and FuzzUnmarshalAlloc
// (binary) measure the heap with runtime.MemStats and assert the bound.
//
// Go types made for decoding into interfaces (reflect.SliceOf, ArrayOf,
// MapOf, PointerTo of wire types) are never freed, so a Registry makes at
// most [MaxMadeTypes] (1024) of them, never an array type larger than
// [MaxMadeArrayBytes] (64 KiB), and remembers each. Shapes found in
// registered types and common built-in ones ([]any, map[string]any, []int,
// []string, ...) are known in advance and do not count. Past the bound a
// value of a new shape is an ErrLimit error in an interface but still
// decodes into a typed destination. The descriptor cache holds at most 4096
// entries, in 64 copy-on-write shards. Parsing a descriptor not in the
// cache allocates about 200 bytes per composite node in it, outside the
// per-byte budget: garbage once the decode ends, or one of the 4096 cached
// entries.
//
// # Versioning
//
// This is version 1 of the format. Tags 0x14-0x1f and 0x28-0xff are reserved;
// a decoder rejects them with ErrMalformed. A future version adds new tags
// rather than changing existing ones; the transport negotiates versions in its
// handshake. The golden-bytes test pins this format.
package codec
