package codec

import (
	"bytes"
	"encoding/gob"
	"io"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lotou-io/lotou/runtime/codec"
	"github.com/lotou-io/lotou/runtime/codec/binary"
)

// A is the struct of the common Go serialisation benchmarks.
type A struct {
	Name     string
	BirthDay time.Time
	Phone    string
	Siblings int
	Spouse   bool
	Money    float64
}

// Pos is the registered struct of the Lotou-typical argument list.
type Pos struct {
	X, Y, Z float32
	Zone    int32
}

// Args is the argument list as a struct, for the schema-known codecs.
type Args struct {
	ID    int
	Name  string
	Path  []int32
	Where Pos
}

func newA() A {
	return A{
		Name: "Alice Liddell", BirthDay: time.Date(1990, 5, 4, 3, 2, 1, 123456789, time.UTC),
		Phone: "+44 1865 270000", Siblings: 2, Spouse: true, Money: 1234.56,
	}
}

func newArgs() []any {
	return []any{42, "move", []int32{1, 2, 3, 4, 5, 6, 7, 8}, Pos{X: 1.5, Y: -2, Z: 0.25, Zone: 3}}
}

func argsStruct() Args {
	a := newArgs()
	return Args{ID: a[0].(int), Name: a[1].(string), Path: a[2].([]int32), Where: a[3].(Pos)}
}

// newRegistry registers the benchmark types under short stable names, as a
// game would for its hot message types (the default name is "codec.A").
func newRegistry(b *testing.B) *codec.Registry {
	r := codec.NewRegistry()
	if err := r.RegisterName("A", A{}); err != nil {
		b.Fatal(err)
	}
	if err := r.RegisterName("Pos", Pos{}); err != nil {
		b.Fatal(err)
	}
	return r
}

func init() {
	gob.Register(Pos{})
}

// --- Lotou gob ---

func BenchmarkA_LotouGob_Encode(b *testing.B) {
	r := newRegistry(b)
	var a any = newA() // boxed once, as an argument in a []any is
	buf := make([]byte, 0, 256)
	var err error
	for b.Loop() {
		if buf, err = r.AppendValue(buf[:0], a); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}

func BenchmarkA_LotouGob_Decode(b *testing.B) {
	r, a := newRegistry(b), newA()
	data, err := r.AppendValue(nil, a)
	if err != nil {
		b.Fatal(err)
	}
	var out A
	for b.Loop() {
		if _, err := r.DecodeValueInto(data, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}

func BenchmarkA_LotouGob_DecodeAny(b *testing.B) {
	r, a := newRegistry(b), newA()
	data, err := r.AppendValue(nil, a)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := r.DecodeValue(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}

func BenchmarkArgs_LotouGob_Encode(b *testing.B) {
	r, args := newRegistry(b), newArgs()
	buf := make([]byte, 0, 256)
	var err error
	for b.Loop() {
		if buf, err = r.AppendArgs(buf[:0], args); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}

func BenchmarkArgs_LotouGob_Decode(b *testing.B) {
	r := newRegistry(b)
	data, err := r.AppendArgs(nil, newArgs())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := r.DecodeArgs(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}

// BenchmarkArgs_LotouGob_DecodeReuse decodes into a reused []any, as the
// cluster's receive path does.
func BenchmarkArgs_LotouGob_DecodeReuse(b *testing.B) {
	r := newRegistry(b)
	data, err := r.AppendArgs(nil, newArgs())
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]any, 0, 8)
	for b.Loop() {
		if dst, err = r.DecodeArgsInto(dst, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}

// BenchmarkArgs_LotouGob_DecodeTo decodes into typed destinations, as a
// handler func(id int, name string, path []int32, where Pos) would.
func BenchmarkArgs_LotouGob_DecodeTo(b *testing.B) {
	r := newRegistry(b)
	data, err := r.AppendArgs(nil, newArgs())
	if err != nil {
		b.Fatal(err)
	}
	var (
		id    int
		name  string
		path  []int32
		where Pos
	)
	for b.Loop() {
		if err := r.DecodeArgsTo(data, &id, &name, &path, &where); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}

// newPrims is an argument list of primitives only.
func newPrims() []any { return []any{123456, int64(-7), 2.5, true, time.Unix(1e9, 5).UTC()} }

func BenchmarkPrims_LotouGob_Decode(b *testing.B) {
	r := newRegistry(b)
	data, err := r.AppendArgs(nil, newPrims())
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]any, 0, 8)
	for b.Loop() {
		if dst, err = r.DecodeArgsInto(dst, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}

func BenchmarkPrims_LotouGob_DecodeTo(b *testing.B) {
	r := newRegistry(b)
	data, err := r.AppendArgs(nil, newPrims())
	if err != nil {
		b.Fatal(err)
	}
	var (
		i   int
		i64 int64
		f   float64
		ok  bool
		t   time.Time
	)
	for b.Loop() {
		if err := r.DecodeArgsTo(data, &i, &i64, &f, &ok, &t); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}

// --- Lotou binary ---

func BenchmarkA_LotouBinary_Encode(b *testing.B) {
	a := newA()
	benchBinaryEncode(b, &a)
}

func BenchmarkA_LotouBinary_Decode(b *testing.B) {
	a := newA()
	benchBinaryDecode(b, &a, &A{})
}

func BenchmarkArgs_LotouBinary_Encode(b *testing.B) {
	a := argsStruct()
	benchBinaryEncode(b, &a)
}

func BenchmarkArgs_LotouBinary_Decode(b *testing.B) {
	a := argsStruct()
	benchBinaryDecode(b, &a, &Args{})
}

func benchBinaryEncode(b *testing.B, v any) {
	buf := make([]byte, 0, 256)
	var err error
	for b.Loop() {
		if buf, err = binary.Append(buf[:0], v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(buf)), "bytes")
}

func benchBinaryDecode(b *testing.B, v, out any) {
	data, err := binary.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := binary.Unmarshal(data, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}

// --- encoding/gob, one-shot: a new Encoder/Decoder per message ---

func BenchmarkA_StdGobOneShot_Encode(b *testing.B) {
	a := newA()
	benchStdOneShotEncode(b, &a)
}

func BenchmarkA_StdGobOneShot_Decode(b *testing.B) {
	a := newA()
	benchStdOneShotDecode(b, &a, &A{})
}

func BenchmarkArgs_StdGobOneShot_Encode(b *testing.B) {
	args := newArgs()
	benchStdOneShotEncode(b, &args)
}

func BenchmarkArgs_StdGobOneShot_Decode(b *testing.B) {
	args := newArgs()
	benchStdOneShotDecode(b, &args, &[]any{})
}

func benchStdOneShotEncode(b *testing.B, v any) {
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := gob.NewEncoder(&buf).Encode(v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
}

func benchStdOneShotDecode(b *testing.B, v, out any) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(v); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	r := bytes.NewReader(data)
	for b.Loop() {
		r.Reset(data)
		if err := gob.NewDecoder(r).Decode(out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}

// --- encoding/gob, stream: one long-lived Encoder/Decoder, types sent once ---

func BenchmarkA_StdGobStream_Encode(b *testing.B) {
	a := newA()
	benchStdStreamEncode(b, &a)
}

func BenchmarkA_StdGobStream_Decode(b *testing.B) {
	a := newA()
	benchStdStreamDecode(b, &a, &A{})
}

func BenchmarkArgs_StdGobStream_Encode(b *testing.B) {
	args := newArgs()
	benchStdStreamEncode(b, &args)
}

func BenchmarkArgs_StdGobStream_Decode(b *testing.B) {
	args := newArgs()
	benchStdStreamDecode(b, &args, &[]any{})
}

func benchStdStreamEncode(b *testing.B, v any) {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(v); err != nil { // send the type once
		b.Fatal(err)
	}
	for b.Loop() {
		buf.Reset()
		if err := enc.Encode(v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
}

// loopReader yields head once, then msg forever.
type loopReader struct {
	head, msg []byte
	pos       int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if len(l.head) > 0 {
		n := copy(p, l.head)
		l.head = l.head[n:]
		return n, nil
	}
	n := copy(p, l.msg[l.pos:])
	l.pos = (l.pos + n) % len(l.msg)
	return n, nil
}

var _ io.Reader = (*loopReader)(nil)

func benchStdStreamDecode(b *testing.B, v, out any) {
	var buf bytes.Buffer
	enc := gob.NewEncoder(&buf)
	if err := enc.Encode(v); err != nil {
		b.Fatal(err)
	}
	head := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := enc.Encode(v); err != nil {
		b.Fatal(err)
	}
	msg := bytes.Clone(buf.Bytes())
	dec := gob.NewDecoder(&loopReader{head: head, msg: msg})
	if err := dec.Decode(out); err != nil { // consume the type
		b.Fatal(err)
	}
	for b.Loop() {
		if err := dec.Decode(out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(msg)), "bytes")
}

// --- msgpack v5 ---

func BenchmarkA_Msgpack_Encode(b *testing.B) {
	a := newA()
	benchMsgpackEncode(b, &a)
}

func BenchmarkA_Msgpack_Decode(b *testing.B) {
	a := newA()
	benchMsgpackDecode(b, &a, &A{})
}

func BenchmarkArgs_Msgpack_Encode(b *testing.B) {
	args := newArgs()
	benchMsgpackEncode(b, &args)
}

// BenchmarkArgs_Msgpack_Decode decodes into []any: msgpack has no type
// registry, so the struct comes back as map[string]any and ints as int8.
func BenchmarkArgs_Msgpack_Decode(b *testing.B) {
	data, err := msgpack.Marshal(newArgs())
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var out []any // msgpack cannot decode into a used []any
		if err := msgpack.Unmarshal(data, &out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}

func benchMsgpackEncode(b *testing.B, v any) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	for b.Loop() {
		buf.Reset()
		if err := enc.Encode(v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
}

func benchMsgpackDecode(b *testing.B, v, out any) {
	data, err := msgpack.Marshal(v)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := msgpack.Unmarshal(data, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(data)), "bytes")
}
