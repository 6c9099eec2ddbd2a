package transport

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
)

func collect(t *testing.T, p *Parser, chunks ...[]byte) ([][]byte, error) {
	t.Helper()
	var got [][]byte
	for _, c := range chunks {
		err := p.Feed(c, func(b []byte) error {
			got = append(got, bytes.Clone(b))
			return nil
		})
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

func TestParserFrames(t *testing.T) {
	stream := AppendFrame(nil, []byte("hello"))
	stream = AppendFrame(stream, nil)
	stream = AppendFrame(stream, bytes.Repeat([]byte{7}, 300))
	want := [][]byte{[]byte("hello"), {}, bytes.Repeat([]byte{7}, 300)}

	tests := []struct {
		name   string
		chunks func() [][]byte
	}{
		{"whole", func() [][]byte { return [][]byte{stream} }},
		{"byte by byte", func() [][]byte {
			var cs [][]byte
			for i := range stream {
				cs = append(cs, stream[i:i+1])
			}
			return cs
		}},
		{"split in header", func() [][]byte { return [][]byte{stream[:2], stream[2:]} }},
		{"split in payload", func() [][]byte { return [][]byte{stream[:7], stream[7:]} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(t, NewParser(1024), tt.chunks()...)
			if err != nil {
				t.Fatal(err)
			}
			assertFrames(t, got, want)
		})
	}
}

func TestParserEverySplit(t *testing.T) {
	var stream []byte
	var want [][]byte
	for i := range 20 {
		payload := bytes.Repeat([]byte{byte(i)}, i*7)
		want = append(want, payload)
		stream = AppendFrame(stream, payload)
	}
	for i := 0; i <= len(stream); i++ {
		for j := i; j <= len(stream); j += 13 {
			got, err := collect(t, NewParser(1024), stream[:i], stream[i:j], stream[j:])
			if err != nil {
				t.Fatalf("split %d/%d: %v", i, j, err)
			}
			assertFrames(t, got, want)
		}
	}
}

func TestParserTooLarge(t *testing.T) {
	tests := []struct {
		name   string
		chunks [][]byte
	}{
		{"whole header", [][]byte{{0, 0, 0, 1}}},
		{"split header", [][]byte{{0, 0}, {0, 1}}},
		{"after a good frame", [][]byte{AppendFrame(nil, []byte("ok")), {0xff, 0xff, 0xff, 0xff}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := collect(t, NewParser(16), tt.chunks...)
			if !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("err = %v, want ErrFrameTooLarge", err)
			}
		})
	}
}

func TestParserCallbackError(t *testing.T) {
	stop := errors.New("stop")
	p := NewParser(0)
	n := 0
	err := p.Feed(AppendFrame(AppendFrame(nil, []byte("a")), []byte("b")), func([]byte) error {
		n++
		return stop
	})
	if !errors.Is(err, stop) || n != 1 {
		t.Fatalf("err=%v n=%d", err, n)
	}
}

func assertFrames(t *testing.T, got, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d frames, want %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("frame %d = %q, want %q", i, got[i], want[i])
		}
	}
}

// FuzzParser checks that any split of any stream yields the same frames as
// feeding it whole, and that hostile lengths never panic.
func FuzzParser(f *testing.F) {
	f.Add(AppendFrame(AppendFrame(nil, []byte("abc")), []byte{}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1})
	f.Add([]byte{3, 0, 0})
	f.Fuzz(func(t *testing.T, stream []byte) {
		whole, errWhole := collect(t, NewParser(64), stream)
		for cut := 0; cut <= len(stream); cut++ {
			parts, errParts := collect(t, NewParser(64), stream[:cut], stream[cut:])
			if (errWhole == nil) != (errParts == nil) {
				t.Fatalf("cut %d: error mismatch %v vs %v", cut, errWhole, errParts)
			}
			assertFrames(t, parts, whole)
		}
	})
}

// allocBytes returns the bytes f allocates per run, averaged over runs.
func allocBytes(runs int, f func()) uint64 {
	f() // warm up
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TestParserDoesNotAllocateAnnouncedSize checks that a hostile length prefix
// costs no large allocation: an oversize one is refused from the header
// alone, and an allowed but large one only gets buffer for bytes received.
func TestParserDoesNotAllocateAnnouncedSize(t *testing.T) {
	tests := []struct {
		name    string
		max     int
		stream  []byte
		wantErr bool
		limit   uint64
	}{
		{"4 GiB announced, 1 MiB allowed", 1 << 20, []byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3}, true, 1 << 10},
		{"1 MiB announced and allowed, 3 bytes sent", 1 << 20, []byte{0, 0, 0x10, 0, 1, 2, 3}, false, partialChunk + 1<<10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			per := allocBytes(50, func() {
				err = NewParser(tt.max).Feed(tt.stream, func([]byte) error { return nil })
			})
			if (err != nil) != tt.wantErr || (tt.wantErr && !errors.Is(err, ErrFrameTooLarge)) {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if per > tt.limit {
				t.Fatalf("allocated %d bytes per run, limit %d", per, tt.limit)
			}
		})
	}
}
