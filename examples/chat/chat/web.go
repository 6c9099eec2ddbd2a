package chat

import (
	_ "embed" // the /play page
	"net/http"
)

// PathPlay is the chat page's path on the gate port.
const PathPlay = "/play"

//go:embed web/play.html
var playPage []byte

// Web serves the chat page at PathPlay; it loads the gate's /lotou.js and
// connects to the gate's WebSocket on the same host and port.
func Web() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(PathPlay, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(playPage)
	})
	return mux
}
