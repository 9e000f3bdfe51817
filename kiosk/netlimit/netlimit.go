// Package netlimit owns the limits every kioskd HTTP server runs with (the
// touch page, the management API, the central simulator, the virtual
// printer's control): the size of request headers, read, write and idle
// timeouts, and how many connections one listener serves at once. It knows
// nothing of what the servers serve.
package netlimit

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// Limits bound one HTTP server and its listener.
type Limits struct {
	// MaxHeaderBytes bounds a request's header (net/http answers 431 past
	// it; it reads at most 4 KiB more before it gives up).
	MaxHeaderBytes int
	// ReadHeaderTimeout bounds reading the header, ReadTimeout the whole
	// request with its body; WriteTimeout runs from the end of the header
	// to the end of the answer. None of them applies to a WebSocket once
	// upgraded: gorilla/websocket clears the deadlines of the hijacked
	// connection, and the page server sets its own write deadlines.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request.
	IdleTimeout time.Duration
	// MaxConns is how many connections the listener serves at once; more
	// wait in the kernel's backlog until one closes.
	MaxConns int
}

// Default are the limits of the daemon's own servers: the touch page and
// the management API. Their requests are small (a card profile, 1 MiB at
// most, is the largest body) and answered in well under a second.
var Default = Limits{
	MaxHeaderBytes:    16 << 10,
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      30 * time.Second,
	IdleTimeout:       60 * time.Second,
	MaxConns:          64,
}

// Server returns an http.Server for h with l's header size and timeouts.
func (l Limits) Server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
	}
}

// Listener bounds ln to l.MaxConns connections at once. Wrap the TCP
// listener, before any TLS, so a slow handshake holds a slot too.
func (l Limits) Listener(ln net.Listener) net.Listener {
	if l.MaxConns <= 0 {
		return ln
	}
	return netutil.LimitListener(ln, l.MaxConns)
}

// Simulator are the limits of the central simulator: many terminals (a
// 1000-terminal fleet-sim, each with keep-alive connections) share one,
// and its configured latency may hold an answer back; an answer held past
// WriteTimeout is cut.
var Simulator = Limits{
	MaxHeaderBytes:    16 << 10,
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      2 * time.Minute,
	IdleTimeout:       90 * time.Second,
	MaxConns:          8192,
}
