// Package codec benchmarks Lotou's "gob" and "binary" codecs side by side
// with encoding/gob (one-shot and stream) and msgpack v5, on a Lotou-typical
// argument list and on the classic serialisation benchmark struct A.
//
// Run: cd bench && go test ./codec -bench . -benchmem -benchtime=0.5s -run '^$'
// The "bytes" metric is the encoded size of one value.
package codec
