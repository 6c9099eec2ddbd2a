package gate

import (
	_ "embed" // the JavaScript client
	"net/http"

	"github.com/coder/websocket"
)

// PathJS is where every gate serves its JavaScript client.
const PathJS = "/lotou.js"

// JSClient is the dependency-free browser client (js/lotou.js).
//
//go:embed js/lotou.js
var JSClient []byte

// httpHandler serves the WebSocket endpoint and, when set, Options.HTTP.
func (g *Gate) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(PathWebSocket, g.serveWS)
	mux.HandleFunc(PathJS, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(JSClient)
	})
	if g.opts.HTTP != nil {
		mux.Handle("/", g.opts.HTTP)
	}
	return mux
}

// serveWS upgrades to a WebSocket and runs the client on a new goroutine
// (counted by admit, joined by Run): the HTTP goroutine, whose stack grew
// while it parsed the request, ends, which saves ~6 KiB per idle client.
// Origins are not checked: clients authenticate with their Hello, not with
// cookies.
func (g *Gate) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept wrote the HTTP error
	}
	g.metrics.accepted[transportWS].Add(1)
	if conn := g.newConn(newWSWire(c, g.opts)); g.admitOrRefuse(conn) {
		go g.serveAdmitted(conn)
	}
}
