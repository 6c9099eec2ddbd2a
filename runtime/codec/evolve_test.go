package codec

import (
	"errors"
	"testing"
)

// Two versions of the same struct, registered under the same name on two
// different registries, as on two nodes running different builds.
type playerV1 struct {
	Name  string
	Level int
	Old   []string
}

type playerV2 struct {
	Level int32 // narrower, still holds the values sent
	Name  string
	New   *Point
}

func TestStructEvolution(t *testing.T) {
	r1, r2 := NewRegistry(), NewRegistry()
	if err := r1.RegisterName("game.Player", playerV1{}); err != nil {
		t.Fatal(err)
	}
	if err := r2.RegisterName("game.Player", playerV2{}); err != nil {
		t.Fatal(err)
	}
	if err := r2.Register(Point{}); err != nil {
		t.Fatal(err)
	}
	buf, err := r1.AppendArgs(nil, []any{playerV1{Name: "ann", Level: 7, Old: []string{"x"}}})
	if err != nil {
		t.Fatal(err)
	}
	args, err := r2.DecodeArgs(buf)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := args[0].(playerV2)
	if !ok || got.Name != "ann" || got.Level != 7 || got.New != nil {
		t.Errorf("v1 -> v2: %#v", args[0])
	}

	buf, err = r2.AppendValue(nil, playerV2{Name: "bo", Level: 2, New: &Point{1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := r1.DecodeValue(buf)
	if err != nil {
		t.Fatalf("v2 -> v1: %v", err)
	}
	if p := v.(playerV1); p.Name != "bo" || p.Level != 2 || p.Old != nil {
		t.Errorf("v2 -> v1: %#v", p)
	}
}

type changed struct{ Level string }

func TestStructFieldTypeChanged(t *testing.T) {
	r1, r2 := NewRegistry(), NewRegistry()
	_ = r1.RegisterName("game.Player", playerV1{})
	_ = r2.RegisterName("game.Player", changed{})
	buf, err := r1.AppendValue(nil, playerV1{Level: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r2.DecodeValue(buf); !errors.Is(err, ErrTypeMismatch) {
		t.Errorf("got %v, want ErrTypeMismatch", err)
	}
}

func TestNamedTypeUnknownToReceiver(t *testing.T) {
	sender := newTestRegistry()
	buf, err := sender.AppendValue(nil, ServiceID(12))
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := NewRegistry().DecodeValue(buf)
	if err != nil {
		t.Fatal(err)
	}
	if v != uint64(12) {
		t.Errorf("unregistered named type decoded as %#v, want uint64(12)", v)
	}
}
