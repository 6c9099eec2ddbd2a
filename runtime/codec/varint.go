package codec

import "fmt"

// AppendUvarint appends u as a uvarint (the same encoding as
// encoding/binary.AppendUvarint). Exported for small fixed envelopes.
func AppendUvarint(buf []byte, u uint64) []byte {
	for u >= 0x80 {
		buf = append(buf, byte(u)|0x80)
		u >>= 7
	}
	return append(buf, byte(u))
}

// AppendVarint appends n zig-zag encoded as a uvarint, so small negative
// numbers stay small.
func AppendVarint(buf []byte, n int64) []byte {
	return AppendUvarint(buf, uint64(n<<1)^uint64(n>>63))
}

// ReadUvarint reads a uvarint from the front of data and returns it with the
// number of bytes read. It fails with ErrTruncated or ErrMalformed (overflow).
func ReadUvarint(data []byte) (uint64, int, error) {
	var u uint64
	var s uint
	for i, b := range data {
		if i == 9 && b > 1 {
			return 0, 0, fmt.Errorf("%w: uvarint overflows 64 bits", ErrMalformed)
		}
		if b < 0x80 {
			return u | uint64(b)<<s, i + 1, nil
		}
		u |= uint64(b&0x7f) << s
		s += 7
	}
	return 0, 0, ErrTruncated
}

// ReadVarint reads a zig-zag varint written by AppendVarint.
func ReadVarint(data []byte) (int64, int, error) {
	u, n, err := ReadUvarint(data)
	return unzigzag(u), n, err
}

func unzigzag(u uint64) int64 {
	return int64(u>>1) ^ -int64(u&1)
}

// AppendString appends s as a uvarint length followed by its bytes.
func AppendString(buf []byte, s string) []byte {
	buf = AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// ReadString reads a string written by AppendString, refusing lengths over
// maxLen. The returned string is a copy.
func ReadString(data []byte, maxLen int) (string, int, error) {
	l, n, err := ReadUvarint(data)
	if err != nil {
		return "", 0, err
	}
	if l > uint64(maxLen) {
		return "", 0, fmt.Errorf("%w: string length %d > %d", ErrLimit, l, maxLen)
	}
	if l > uint64(len(data)-n) {
		return "", 0, ErrTruncated
	}
	end := n + int(l)
	return string(data[n:end]), end, nil
}
