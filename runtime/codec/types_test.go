package codec

import "time"

// Test types shared by the gob codec tests.

type ServiceID uint64

type Tags []string

type Point struct {
	X, Y int32
}

type Player struct {
	Name    string
	Level   int
	Pos     *Point
	Items   []Point
	Scores  map[string]float64
	Friends []ServiceID
	Joined  time.Time
	Extra   any
	secret  int    //nolint:unused // unexported fields are not encoded
	Skipped string `lotou:"-"`
}

type Node struct {
	Value int
	Next  *Node
}

type A struct {
	Name     string
	BirthDay time.Time
	Phone    string
	Siblings int
	Spouse   bool
	Money    float64
}

func newTestRegistry() *Registry {
	r := NewRegistry()
	for _, v := range []any{ServiceID(0), Tags(nil), Point{}, Player{}, Node{}, A{}} {
		if err := r.Register(v); err != nil {
			panic(err)
		}
	}
	return r
}
