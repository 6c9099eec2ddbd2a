package binary

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lotou-io/lotou/runtime/codec"
)

type Pos struct {
	X, Y float32
}

type Hero struct {
	ID      uint64
	Name    string
	HP      int16
	Alive   bool
	Pos     *Pos
	Bag     []Pos
	Stats   map[string]int32
	Skills  [3]uint8
	Avatar  []byte
	Born    time.Time
	Cool    time.Duration
	Local   string `lotou:"-"`
	private int    //nolint:unused // unexported fields are skipped
}

type Tree struct {
	Val  int32
	Kids []*Tree
}

func TestRoundTrip(t *testing.T) {
	born := time.Date(2020, 2, 29, 12, 0, 0, 42, time.UTC)
	tests := []struct {
		name string
		in   any // a pointer to the value
	}{
		{"bool", ptr(true)},
		{"int8", ptr(int8(-5))},
		{"int16", ptr(int16(math.MinInt16))},
		{"int32", ptr(int32(-1))},
		{"int", ptr(math.MaxInt)},
		{"uint64", ptr(uint64(math.MaxUint64))},
		{"float32", ptr(float32(1.25))},
		{"float64", ptr(math.Pi)},
		{"complex128", ptr(complex(1, 2))},
		{"string", ptr("héllo")},
		{"bytes", ptr([]byte{1, 2, 3})},
		{"slice", ptr([]int64{1, -2})},
		{"map", ptr(map[string][]int16{"a": {1}})},
		{"array", ptr([2]string{"a", "b"})},
		{"pointer", ptr(&Pos{1, 2})},
		{"nil pointer", ptr((*Pos)(nil))},
		{"time", ptr(born)},
		{"hero", &Hero{
			ID: 7, Name: "Ann", HP: -3, Alive: true, Pos: &Pos{1.5, -2},
			Bag: []Pos{{1, 1}}, Stats: map[string]int32{"str": 9}, Skills: [3]uint8{1, 2, 3},
			Avatar: []byte("png"), Born: born, Cool: time.Second,
		}},
		{"recursive", &Tree{Val: 1, Kids: []*Tree{{Val: 2}, nil}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			out := reflect.New(reflect.TypeOf(tt.in).Elem())
			if err := Unmarshal(data, out.Interface()); err != nil {
				t.Fatalf("Unmarshal(% x): %v", data, err)
			}
			if !reflect.DeepEqual(out.Interface(), tt.in) {
				t.Errorf("got %#v, want %#v", out.Elem().Interface(), reflect.ValueOf(tt.in).Elem().Interface())
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestGolden(t *testing.T) {
	h := Hero{ID: 1, Name: "A", HP: -1, Alive: true, Pos: &Pos{X: 1}, Skills: [3]uint8{4, 5, 6},
		Born: time.Unix(2, 3), Cool: 5, Local: "not sent"}
	want := "0100000000000000" + "0100000041" + "ffff" + "01" + "01" + "0000803f" + "00000000" +
		"00000000" + "00000000" + "040506" + "00000000" + "0200000000000000" + "03000000" + "0500000000000000"
	got, err := Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got) != want {
		t.Errorf("encoding changed:\n got %x\nwant %s", got, want)
	}
}

func TestSkipAndNilAllocation(t *testing.T) {
	data, err := Marshal(Hero{Name: "x", Local: "dropped", Pos: &Pos{2, 3}, Bag: []Pos{{1, 1}}, Stats: map[string]int32{"a": 1}})
	if err != nil {
		t.Fatal(err)
	}
	var h Hero
	if err := Unmarshal(data, &h); err != nil {
		t.Fatal(err)
	}
	if h.Local != "" || h.Pos == nil || h.Pos.Y != 3 || len(h.Bag) != 1 || h.Stats["a"] != 1 {
		t.Errorf("decoded %#v", h)
	}
	// Nil and empty slices and maps decode as nil.
	data, _ = Marshal(Hero{Bag: []Pos{}})
	if err := Unmarshal(data, &h); err != nil || h.Bag != nil || h.Stats != nil || h.Pos != nil {
		t.Errorf("decoded %#v, %v", h, err)
	}
}

func TestLarge(t *testing.T) {
	big := bytes.Repeat([]byte("lotou"), 1<<20) // 5 MB
	in := struct {
		Blob []byte
		Text string
		Nums []int32
	}{big, string(big), make([]int32, 1<<20)}
	data, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := in
	out.Blob, out.Text, out.Nums = nil, "", nil
	if err := Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Blob, big) || out.Text != string(big) || len(out.Nums) != 1<<20 {
		t.Error("large value did not round-trip")
	}
}

func TestErrors(t *testing.T) {
	good, err := Marshal(&Hero{Name: "abc", Bag: []Pos{{1, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(good) {
		var h Hero
		if err := Unmarshal(good[:i], &h); !errors.Is(err, codec.ErrTruncated) {
			t.Fatalf("prefix %d: %v, want ErrTruncated", i, err)
		}
	}
	tests := []struct {
		name string
		data []byte
		into any
		want error
	}{
		{"trailing", append(bytes.Clone(good), 0), &Hero{}, codec.ErrTrailing},
		{"huge count", []byte{0xff, 0xff, 0xff, 0x7f}, &[]int32{}, codec.ErrLimit},
		{"count past end", []byte{10, 0, 0, 0, 1}, &[]int32{}, codec.ErrTruncated},
		{"empty structs", []byte{0, 0, 0, 1}, &[]struct{ A [1 << 10]struct{} }{}, nil},
		{"bad bool", []byte{2}, ptr(false), codec.ErrMalformed},
		{"bad presence", []byte{2}, ptr(&Pos{}), codec.ErrMalformed},
		{"bad time", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, &time.Time{}, codec.ErrMalformed},
		{"not a pointer", nil, Hero{}, codec.ErrTypeMismatch},
		{"interface", []byte{0}, new(any), codec.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal(tt.data, tt.into)
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
	// Each empty string takes 4 bytes here but 16 in memory.
	if err := UnmarshalLimits(append([]byte{10, 0, 0, 0}, make([]byte, 40)...), &[]string{}, codec.Limits{MaxAlloc: 100}); !errors.Is(err, codec.ErrLimit) {
		t.Errorf("expanding: %v, want ErrLimit", err)
	}
	if _, err := Marshal(make(chan int)); !errors.Is(err, codec.ErrUnsupported) || !strings.Contains(err.Error(), "chan int") {
		t.Errorf("Marshal(chan): %v", err)
	}
}

func TestDepthLimit(t *testing.T) {
	deep := &Tree{}
	for range 10 {
		deep = &Tree{Kids: []*Tree{deep}}
	}
	data, err := Marshal(deep)
	if err != nil {
		t.Fatal(err)
	}
	var out Tree
	if err := UnmarshalLimits(data, &out, codec.Limits{MaxDepth: 5}); !errors.Is(err, codec.ErrLimit) {
		t.Errorf("got %v, want ErrLimit", err)
	}
	if err := Unmarshal(data, &out); err != nil {
		t.Errorf("default limits: %v", err)
	}
}

func TestEncodeAllocs(t *testing.T) {
	h := &Hero{Name: "a", Pos: &Pos{}, Bag: []Pos{{}}, Born: time.Now()}
	buf := make([]byte, 0, 512)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Append(buf[:0], h); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Append allocated %.1f times, want 0", allocs)
	}
}

// FuzzUnmarshal decodes arbitrary bytes into a rich type: never a panic,
// and whatever decodes re-encodes to bytes that decode and re-encode
// identically.
func FuzzUnmarshal(f *testing.F) {
	for _, h := range []*Hero{{}, {Name: "x", Pos: &Pos{1, 2}, Bag: []Pos{{3, 4}}, Stats: map[string]int32{"k": 1}, Avatar: []byte{9}}} {
		data, err := Marshal(h)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f})
	lim := codec.Limits{MaxLen: 1 << 16, MaxAlloc: 1 << 22}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Hero
		if err := UnmarshalLimits(data, &h, lim); err != nil {
			return
		}
		again, err := Marshal(&h)
		if err != nil {
			t.Fatal(err)
		}
		var h2 Hero
		if err := UnmarshalLimits(again, &h2, lim); err != nil {
			t.Fatalf("re-decoding % x: %v", again, err)
		}
		// Compare encodings, not values: NaN != NaN.
		if third, err := Marshal(&h2); err != nil || !bytes.Equal(third, again) {
			t.Fatalf("re-encoding differs: %v\n% x\n% x", err, again, third)
		}
		var tr Tree
		_ = UnmarshalLimits(data, &tr, lim)
	})
}

// TestZeroSizeElements: containers of zero-size values carry only counts;
// a hostile count decodes to the one possible value instead of looping.
func TestZeroSizeElements(t *testing.T) {
	type empty struct{}
	count := func(n uint32) []byte { return []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)} }
	tests := []struct {
		name    string
		data    []byte
		into    func() any
		wantLen int
	}{
		{"map of empty, count 1<<24", count(1 << 24), func() any { return new(map[empty]empty) }, 1},
		{"map of empty, count 3", count(3), func() any { return new(map[empty]empty) }, 1},
		{"map of empty, count 0", count(0), func() any { return new(map[empty]empty) }, 0},
		{"slice of empty, count 1000", count(1000), func() any { return new([]empty) }, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ptr := tt.into()
			if err := Unmarshal(tt.data, ptr); err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if got := reflect.ValueOf(ptr).Elem().Len(); got != tt.wantLen {
				t.Fatalf("len = %d, want %d", got, tt.wantLen)
			}
		})
	}
}
