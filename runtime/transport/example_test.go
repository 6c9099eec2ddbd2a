package transport_test

import (
	"fmt"

	"github.com/lotou-io/lotou/runtime/transport"
)

// printer prints frames and signals each one.
type printer struct{ got chan string }

func (p printer) HandleFrame(c *transport.Conn, payload []byte) {
	p.got <- fmt.Sprintf("%s says %s", c.Remote().Name, payload)
}
func (printer) ConnUp(*transport.Conn)          {}
func (printer) ConnDown(*transport.Conn, error) {}

// Example opens a server and a lazily dialled peer that share a token: the
// first Send dials, runs the handshake and delivers the frame.
func Example() {
	srvH := printer{got: make(chan string, 1)}
	srv, _ := transport.New(transport.Options{Self: transport.Identity{Name: "server"}, Token: []byte("t0k3n"), Handler: srvH})
	defer srv.Close()
	addr, err := srv.Listen("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	cli, _ := transport.New(transport.Options{Self: transport.Identity{ID: 2, Name: "client"}, Token: []byte("t0k3n"), Handler: printer{}})
	defer cli.Close()
	if err := cli.Peer(addr.String()).Send([]byte("hello")); err != nil {
		panic(err)
	}
	fmt.Println(<-srvH.got)
	// Output: client says hello
}

// ExampleParser shows the resumable parser fed a frame split across reads.
func ExampleParser() {
	stream := transport.AppendFrame(nil, []byte("split frame"))
	p := transport.NewParser(1024)
	for _, chunk := range [][]byte{stream[:3], stream[3:9], stream[9:]} {
		_ = p.Feed(chunk, func(payload []byte) error {
			fmt.Printf("%s\n", payload)
			return nil
		})
	}
	// Output: split frame
}
