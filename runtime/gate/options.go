package gate

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
)

// PathWebSocket is the HTTP path of the WebSocket endpoint on the gate port.
const PathWebSocket = "/ws"

// Options configure a Gate. Zero values take the defaults named below.
type Options struct {
	// Addr is the TCP address to listen on (":7000"); TCP clients and
	// WebSocket upgrades on PathWebSocket share it.
	Addr string
	// Service is the game service every client message is forwarded to: a
	// node-local ".name" or a global name (required).
	Service string
	// Auth checks a client's Hello; default: TicketAuth(Secret).
	Auth Authenticator
	// Secret is TicketAuth's key when Auth is nil.
	Secret []byte
	// MaxMessage bounds one client message in bytes (64 KiB).
	MaxMessage int
	// Rate is each client's sustained message rate per second (50); Burst
	// how many it may send at once (2×Rate). Rate < 0 disables the check.
	Rate  float64
	Burst int
	// IdleTimeout closes a client silent that long (60s); a KindPing resets it.
	IdleTimeout time.Duration
	// AuthTimeout bounds the wait for the Hello and the Auth check (10s).
	AuthTimeout time.Duration
	// MaxConns bounds this gate's clients (20,000).
	MaxConns int
	// QueueSize bounds each client's outbound queue in messages (256).
	QueueSize int
	// AgentMailbox is each agent service's mailbox size (32): pushes waiting
	// for the agent; the core preallocates part of it, so it is the largest
	// share of an idle connection's memory.
	AgentMailbox int
	// CallTimeout bounds a forwarded KindCall (5s).
	CallTimeout time.Duration
	// WriteTimeout bounds one write to a client (10s).
	WriteTimeout time.Duration
	// HTTP, if set, serves the gate port's other HTTP paths (a /play page).
	HTTP http.Handler
	// Log receives the gate's logs (default: discard).
	Log logr.Logger
	// Now is the clock of the rate limiter (time.Now).
	Now func() time.Time
}

func (o *Options) setDefaults() {
	if o.Auth == nil {
		o.Auth = TicketAuth(o.Secret, nil)
	}
	if o.MaxMessage == 0 {
		o.MaxMessage = defaultMaxMessage
	}
	if o.Rate == 0 {
		o.Rate = 50
	}
	if o.Burst == 0 && o.Rate > 0 {
		o.Burst = max(1, int(2*o.Rate))
	}
	o.IdleTimeout = orDuration(o.IdleTimeout, 60*time.Second)
	o.AuthTimeout = orDuration(o.AuthTimeout, 10*time.Second)
	o.CallTimeout = orDuration(o.CallTimeout, 5*time.Second)
	o.WriteTimeout = orDuration(o.WriteTimeout, 10*time.Second)
	if o.MaxConns == 0 {
		o.MaxConns = 20000
	}
	if o.QueueSize == 0 {
		o.QueueSize = 256
	}
	if o.AgentMailbox == 0 {
		o.AgentMailbox = 32
	}
	if o.Log.GetSink() == nil {
		o.Log = logr.Discard()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

func orDuration(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Validate applies defaults and reports every problem at once.
func (o *Options) Validate() error {
	o.setDefaults()
	var errs []error
	if o.Service == "" {
		errs = append(errs, errors.New("gate: a game service name is required"))
	}
	if _, _, err := net.SplitHostPort(o.Addr); err != nil {
		errs = append(errs, fmt.Errorf("gate address %q: %w", o.Addr, err))
	}
	if o.MaxMessage < minMessage || o.MaxMessage > 16<<20 {
		errs = append(errs, fmt.Errorf("gate max message %d: want %d..%d bytes", o.MaxMessage, minMessage, 16<<20))
	}
	if math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		errs = append(errs, fmt.Errorf("gate rate %v: want a finite number of messages per second (< 0: no limit)", o.Rate))
	}
	if o.Rate > 0 && o.Burst < 1 {
		errs = append(errs, fmt.Errorf("gate burst %d: want at least 1", o.Burst))
	}
	if o.MaxConns < 1 || o.QueueSize < 1 || o.AgentMailbox < 1 {
		errs = append(errs, errors.New("gate max connections, queue size and agent mailbox must be positive"))
	}
	for _, d := range []time.Duration{o.IdleTimeout, o.AuthTimeout, o.CallTimeout, o.WriteTimeout} {
		if d < 0 {
			errs = append(errs, errors.New("gate timeouts must be positive"))
			break
		}
	}
	return errors.Join(errs...)
}
