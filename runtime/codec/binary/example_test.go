package binary_test

import (
	"fmt"

	"github.com/lotou-io/lotou/runtime/codec/binary"
)

type Login struct {
	User    string
	Version uint16
	Token   []byte
	Cache   string `lotou:"-"` // never sent
}

func Example() {
	data, err := binary.Marshal(&Login{User: "ann", Version: 3, Token: []byte{0xab}, Cache: "x"})
	if err != nil {
		panic(err)
	}
	fmt.Printf("% x\n", data)
	var l Login
	if err := binary.Unmarshal(data, &l); err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", l)
	// Output:
	// 03 00 00 00 61 6e 6e 03 00 01 00 00 00 ab
	// {User:ann Version:3 Token:[171] Cache:}
}
