package transport

import (
	"runtime"
	"testing"
)

// FuzzParserAlloc: whatever lengths a stream announces and however it is
// split across reads, the parser allocates in proportion to the bytes it
// was fed (plus one read-ahead chunk), never to the lengths announced.
func FuzzParserAlloc(f *testing.F) {
	f.Add([]byte{0xff, 0xff, 0x3f, 0, 1, 2, 3}, uint16(2), uint16(5))
	f.Add(AppendFrame(AppendFrame(nil, make([]byte, 300)), []byte{1}), uint16(100), uint16(200))
	f.Add([]byte{0, 0, 0x40, 0}, uint16(1), uint16(3))
	f.Fuzz(func(t *testing.T, stream []byte, cut1, cut2 uint16) {
		a := min(int(cut1), len(stream))
		b := min(max(int(cut2), a), len(stream))
		parts := [][]byte{stream[:a], stream[a:b], stream[b:]}
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		p := NewParser(DefaultMaxFrame)
		for _, part := range parts {
			if err := p.Feed(part, func([]byte) error { return nil }); err != nil {
				break
			}
		}
		runtime.ReadMemStats(&after)
		got := after.TotalAlloc - before.TotalAlloc
		if bound := uint64(4*len(stream) + 2*partialChunk + 4<<10); got > bound {
			t.Fatalf("%d bytes fed in %d/%d/%d allocated %d bytes, want at most %d", len(stream), a, b-a, len(stream)-b, got, bound)
		}
	})
}
