// Command chat is the sample game: a Lotou node (master, slave or
// standalone, configured exactly like lotou-node) running the chat lobby
// and rooms behind its gate, with a /play page on the gate port.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lotou-io/lotou/examples/chat/chat"
	"github.com/lotou-io/lotou/runtime/gate"
	"github.com/lotou-io/lotou/runtime/node"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	code := node.Main(ctx, node.App{
		Name:  "chat",
		Start: chat.Start,
		// Players sign in with any name here; a real game keeps the default
		// ticket check or sets its own gate.Authenticator.
		Gate: gate.Options{Service: chat.Lobby, Auth: gate.NameAuth, HTTP: chat.Web()},
	})
	stop()
	os.Exit(code)
}
