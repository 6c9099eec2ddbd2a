package codec_test

import (
	"fmt"

	"github.com/lotou-io/lotou/runtime/codec"
)

type ServiceID uint64

type Move struct {
	X, Y int32
}

// Each node builds one Registry at start-up and registers the same names.
func Example() {
	reg := codec.NewRegistry()
	if err := reg.Register(ServiceID(0)); err != nil { // as "codec_test.ServiceID"
		panic(err)
	}
	if err := reg.RegisterName("game.Move", Move{}); err != nil {
		panic(err)
	}

	frame, err := reg.AppendArgs(nil, []any{ServiceID(7), 42, "run", Move{X: 1, Y: 2}})
	if err != nil {
		panic(err)
	}
	args, err := reg.DecodeArgs(frame)
	if err != nil {
		panic(err)
	}
	for _, a := range args {
		fmt.Printf("%T %v\n", a, a)
	}
	small, _ := reg.AppendArgs(nil, []any{42})
	fmt.Printf("[42] takes %d bytes: % x\n", len(small), small)
	// Output:
	// codec_test.ServiceID 7
	// int 42
	// string run
	// codec_test.Move {1 2}
	// [42] takes 3 bytes: 01 02 54
}

// An envelope written with the varint helpers, followed by the arguments.
func ExampleAppendUvarint() {
	reg := codec.NewRegistry()
	buf := codec.AppendUvarint(nil, 1234) // e.g. a session id
	buf, _ = reg.AppendArgs(buf, []any{"ping"})

	session, n, _ := codec.ReadUvarint(buf)
	args, _ := reg.DecodeArgs(buf[n:])
	fmt.Println(session, args)
	// Output: 1234 [ping]
}

// A receiver that knows the parameter types (a handler's signature)
// decodes the arguments straight into typed variables: no []any, and no
// allocation for numbers, bools and times.
func ExampleRegistry_DecodeArgsTo() {
	reg := codec.NewRegistry()
	if err := reg.RegisterName("game.Move", Move{}); err != nil {
		panic(err)
	}
	frame, err := reg.AppendArgs(nil, []any{42, "run", Move{X: 1, Y: 2}})
	if err != nil {
		panic(err)
	}
	var (
		id   int64 // an int on the wire fits any signed integer that holds it
		verb string
		move Move
	)
	if err := reg.DecodeArgsTo(frame, &id, &verb, &move); err != nil {
		panic(err)
	}
	fmt.Println(id, verb, move)
	// Output: 42 run {1 2}
}
