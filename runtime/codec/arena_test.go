package codec

import (
	"reflect"
	"runtime"
	"strconv"
	"testing"
	"time"
	"unsafe"
)

// TestBoxAt checks that an interface built by boxAt equals the one reflect
// builds, for pointer-shaped and other types.
func TestBoxAt(t *testing.T) {
	n := 5
	values := []any{42, "str", 1.5, Point{1, 2}, &n, []int32{1}, map[string]int{"a": 1}, [1]*int{&n},
		time.Unix(5, 6), struct{ p *int }{&n}, [3]byte{1, 2, 3}, ServiceID(9)}
	for _, v := range values {
		t.Run(reflect.TypeOf(v).String(), func(t *testing.T) {
			rt := reflect.TypeOf(v)
			p := reflect.New(rt)
			p.Elem().Set(reflect.ValueOf(v))
			got := boxAt(rt, p.UnsafePointer())
			if reflect.TypeOf(got) != rt || !reflect.DeepEqual(got, v) {
				t.Errorf("boxAt gave %#v, want %#v", got, v)
			}
		})
	}
}

// TestArenaSurvivesGC decodes many argument lists whose values live in
// the decode chunks, keeps some, drops the rest, collects garbage and
// overwrites freed memory, then checks every kept value.
func TestArenaSurvivesGC(t *testing.T) {
	r := newTestRegistry()
	type kept struct {
		args []any
		i    int
	}
	var keep []kept
	for i := range 2000 {
		in := []any{1000 + i, "s" + strconv.Itoa(i), []int32{int32(i), 2}, Point{int32(i), 1}, float64(i) + 0.5,
			int64(i) << 20, []string{"x" + strconv.Itoa(i)}, Tags{"t"}}
		data, err := r.AppendArgs(nil, in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := r.DecodeArgs(data)
		if err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			keep = append(keep, kept{args: out[:len(out):len(out)], i: i})
		}
		_ = make([]byte, 512) // churn
	}
	runtime.GC()
	for range 1000 {
		b := make([]byte, 256)
		for j := range b {
			b[j] = 0xff
		}
		runtime.KeepAlive(b)
	}
	runtime.GC()
	for _, k := range keep {
		i := k.i
		want := []any{1000 + i, "s" + strconv.Itoa(i), []int32{int32(i), 2}, Point{int32(i), 1}, float64(i) + 0.5,
			int64(i) << 20, []string{"x" + strconv.Itoa(i)}, Tags{"t"}}
		if !reflect.DeepEqual(k.args, want) {
			t.Fatalf("kept list %d is now %#v", i, k.args)
		}
	}
}

// TestNoPointers checks the rule that decides what may live in memory the
// collector does not scan, against the runtime's own pointer bitmap size
// (a type with no pointers has no pointer-bearing prefix).
func TestNoPointers(t *testing.T) {
	for _, v := range []any{0, "", 1.5, Point{}, [4]int32{}, [0]*int{}, struct{ A [2]Point }{}, []int{},
		map[int]int{}, (*int)(nil), struct{ P *int }{}, [1]string{}, time.Time{}, time.Duration(0), complex64(0)} {
		rt := reflect.TypeOf(v)
		// A pointer-free type's values can be stored in a []byte view.
		want := ptrBytes(rt) == 0
		if got := noPointers(rt); got != want {
			t.Errorf("noPointers(%v) = %v, want %v", rt, got, want)
		}
	}
}

// ptrBytes reads abi.Type.PtrBytes, the length of the prefix of a value
// that holds pointers (Go 1.26 layout: Size_ then PtrBytes).
func ptrBytes(t reflect.Type) uintptr {
	rtype := (*[2]unsafe.Pointer)(unsafe.Pointer(&t))[1]
	return (*[2]uintptr)(rtype)[1]
}

// TestNaturalInterfaceSlot: a value sent inside an interface descriptor
// at the top decodes to what the interface holds.
func TestNaturalInterfaceSlot(t *testing.T) {
	r := newTestRegistry()
	got, err := r.DecodeArgs([]byte{0x01, tagIface, tagInt, 0x54})
	if err != nil || len(got) != 1 || got[0] != 42 {
		t.Fatalf("got %#v, %v; want [42]", got, err)
	}
}
