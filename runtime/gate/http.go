package gate

import (
	_ "embed" // the JavaScript client
	"net/http"
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
	mux.HandleFunc(PathWebSocket, g.serveWSFallback)
	mux.HandleFunc(PathJS, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(JSClient)
	})
	if g.opts.HTTP != nil {
		mux.Handle("/", g.opts.HTTP)
	}
	return mux
}
