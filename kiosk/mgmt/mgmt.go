// Package mgmt owns the management API that central ops and technicians
// reach over the network: /healthz (process alive), /readyz (store writable,
// devices initialised), /metrics (Prometheus text format) and /v1/status
// (the JSON of API.md), plus whatever extra routes the daemon mounts (sim
// control). Bound to a non-loopback address, every path but /healthz needs
// a bearer token or a verified client certificate. It gathers nothing
// itself: the daemon supplies a Source.
package mgmt

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Status is the body of GET /v1/status (API.md).
type Status struct {
	KioskID       string         `json:"kiosk_id"`
	Version       string         `json:"version"`
	UptimeS       int64          `json:"uptime_s"`
	Devices       map[string]any `json:"devices"`
	Queue         Queue          `json:"queue"`
	SLABreached   int            `json:"sla_breached"` // pending operations past their SLA
	DiskFreeBytes uint64         `json:"disk_free_bytes"`
	Page          Page           `json:"page"`
}

// Page is the touch page: connected over its WebSocket or not, and since
// when it has been so (the daemon's start while no page ever connected).
// `kioskd screen` keeps the screen's watchdog going on it.
type Page struct {
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"`
}

// Queue is the outbox as ops see it.
type Queue struct {
	Pending           int        `json:"pending"`
	OldestPendingAgeS int64      `json:"oldest_pending_age_s"`
	Rejected          int        `json:"rejected"`
	LastAckAt         *time.Time `json:"last_ack_at"`
	CentralOnline     bool       `json:"central_online"`
	CentralLastError  string     `json:"central_last_error,omitempty"`
}

// Source is what the management API reports on.
type Source interface {
	Status(ctx context.Context) (Status, error)
	// Ready returns nil when the store is writable and devices initialised,
	// or an error saying what is not.
	Ready(ctx context.Context) error
}

// Options say how requests are authorised.
type Options struct {
	// Token, when set, is accepted as "Authorization: Bearer <token>".
	Token string
	// RequireAuth protects every path but /healthz; the daemon sets it when
	// the listener is not on a loopback address.
	RequireAuth bool
}

// Server is the management API's http.Handler.
type Server struct {
	mux  *http.ServeMux
	src  Source
	opts Options
}

// New builds the API over src, serving reg's metrics.
func New(src Source, reg *prometheus.Registry, opts Options) *Server {
	s := &Server{mux: http.NewServeMux(), src: src, opts: opts}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.mux.HandleFunc("GET /v1/status", s.status)
	return s
}

// Handle mounts an extra route (sim control) behind the same authorisation.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP authorises the request and routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.RequireAuth && r.URL.Path != "/healthz" && !s.authorised(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kioskd"`)
		// An unauthenticated client does not keep its connection.
		w.Header().Set("Connection", "close")
		WriteError(w, http.StatusUnauthorized, "unauthorized", "a bearer token or a client certificate is required")
		return
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) authorised(r *http.Request) bool {
	if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	if s.opts.Token == "" {
		return false
	}
	// The scheme is case-insensitive (RFC 9110 section 11.1).
	scheme, got, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	return ok && strings.EqualFold(scheme, "Bearer") &&
		subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.opts.Token)) == 1
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if err := s.src.Ready(r.Context()); err != nil {
		WriteError(w, http.StatusServiceUnavailable, "not_ready", err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ready\n"))
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st, err := s.src.Status(r.Context())
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "status", err.Error())
		return
	}
	WriteJSON(w, http.StatusOK, st)
}

// WriteJSON writes v as the JSON body with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes {code, message} with the HTTP status.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, map[string]string{"code": code, "message": message})
}

// IsLoopback reports whether a listen address only accepts local clients.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
