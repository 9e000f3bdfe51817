package ui

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

//go:embed static
var static embed.FS

// Driver receives the page's intents. It is the session: it checks each
// intent against the flow and shows the next screen through Server.Show.
// An error is sent to the page as an `error` frame; return *Error to choose
// its code.
type Driver interface {
	Intent(ctx context.Context, in Intent) error
}

// Config configures a Server. The zero value serves all three languages
// with the default limits.
type Config struct {
	KioskID   string
	Version   string
	Languages []string // default zh-CN, vi, en
	// AllowedOrigins are origins (scheme://host[:port]) besides the page's
	// own that may connect: the page as the terminal's browser loads it when
	// that is not a loopback address (or behind a TLS-terminating proxy).
	AllowedOrigins []string
	// Rate and Burst limit frames per second per connection (default 20, 40).
	Rate  float64
	Burst int
	// IntentTimeout bounds one Driver.Intent call (default 10 s).
	IntentTimeout time.Duration
	Logger        *slog.Logger
	// Speech serves the page's audio under /speech/ (kiosk/speech); nil
	// answers 404 there. Speak tells the page in `hello` that speech
	// mode can be heard (espeak-ng is installed).
	Speech http.Handler
	Speak  bool
	// Facts fill the catalogues' {fee}, {days}, {hotline}, {agency} and
	// {location} (PageFS); nil leaves them as written.
	Facts Facts
}

// DefaultLanguages are the catalogues under static/i18n.
var DefaultLanguages = []string{"zh-CN", "vi", "en"}

// Server serves the page and /ws. One page at a time: a new connection
// takes over and the previous one is told `taken_over` and closed.
type Server struct {
	cfg      Config
	log      *slog.Logger
	files    http.Handler
	upgrader websocket.Upgrader

	mu     sync.Mutex
	driver Driver
	screen Screen
	device *Device
	cur    *conn
	conns  map[*conn]struct{}
	closed bool
}

// NewServer returns a Server; set its Driver with SetDriver before serving.
func NewServer(cfg Config) *Server {
	if len(cfg.Languages) == 0 {
		cfg.Languages = DefaultLanguages
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 20
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 40
	}
	if cfg.IntentTimeout <= 0 {
		cfg.IntentTimeout = 10 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:    cfg,
		log:    log,
		files:  http.FileServerFS(PageFS(cfg.Facts)),
		screen: Screen{Name: "idle", Data: map[string]any{}},
		conns:  map[*conn]struct{}{},
	}
	s.upgrader = websocket.Upgrader{
		ReadBufferSize:  4096,
		WriteBufferSize: 4096,
		CheckOrigin:     s.originAllowed,
	}
	return s
}

// SetDriver sets who receives the page's intents.
func (s *Server) SetDriver(d Driver) {
	s.mu.Lock()
	s.driver = d
	s.mu.Unlock()
}

// StaticFS is the embedded page, for tests and tools.
func StaticFS() fs.FS {
	sub, _ := fs.Sub(static, "static")
	return sub
}

// ServeHTTP serves /ws and the static page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ws" {
		s.serveWS(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/speech/") && s.cfg.Speech != nil {
		s.cfg.Speech.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	connect := "'self'"
	if safeHost(r.Host) {
		connect += " ws://" + r.Host + " wss://" + r.Host
	}
	h.Set("Content-Security-Policy", "default-src 'self'; connect-src "+connect+"; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	s.files.ServeHTTP(w, r)
}

// safeHost reports whether h can go into a header as is: host names, IPv4
// and bracketed IPv6 addresses with a port.
func safeHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return false
		}
	}
	return true
}

// originAllowed accepts the page's own origin and the configured ones. The
// page's own origin is http on a loopback name (127.0.0.1, [::1],
// localhost) with the port of the listener the connection came in on, and
// only when that listener address is itself loopback; it is never taken
// from the Host header, which a rebound DNS name controls. A missing
// Origin is refused: a browser always sends one, and nothing else should
// drive the screen.
func (s *Server) originAllowed(r *http.Request) bool {
	o, ok := parseOrigin(r.Header.Get("Origin"))
	if !ok {
		return false
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr); ok && la.IP.IsLoopback() {
		// The UI listener speaks plain HTTP: an https page is not ours.
		if o.scheme == "http" && o.port == strconv.Itoa(la.Port) && isLoopbackName(o.host) {
			return true
		}
	}
	return slices.ContainsFunc(s.cfg.AllowedOrigins, func(a string) bool {
		ao, ok := parseOrigin(a)
		return ok && ao == o
	})
}

// origin is a parsed Origin: scheme, lower-case host (IPv6 without
// brackets) and port (the scheme's default when absent).
type origin struct{ scheme, host, port string }

// parseOrigin parses scheme://host[:port] with nothing after it.
func parseOrigin(s string) (origin, bool) {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return origin{}, false
	}
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port()}
	switch {
	case o.scheme != "http" && o.scheme != "https":
		return origin{}, false
	case o.port == "" && o.scheme == "http":
		o.port = "80"
	case o.port == "":
		o.port = "443"
	}
	return o, true
}

// isLoopbackName reports whether host names this machine only.
func isLoopbackName(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ValidOrigin reports whether s is an origin AllowedOrigins can hold:
// http or https, a host, an optional port and nothing else.
func ValidOrigin(s string) bool {
	_, ok := parseOrigin(s)
	return ok
}

// Show makes sc the current screen and sends it to the page. It never
// blocks: a page that does not keep up is disconnected and gets the current
// screen again when it reconnects.
func (s *Server) Show(sc Screen) {
	if sc.Data == nil {
		sc.Data = map[string]any{}
	}
	f, err := json.Marshal(screenFrame{Type: TypeScreen, Name: sc.Name, Data: sc.Data})
	if err != nil {
		s.log.Error("encode screen", "screen", sc.Name, "err", err)
		return
	}
	s.mu.Lock()
	s.screen = sc
	c := s.cur
	s.mu.Unlock()
	if c != nil {
		c.send(f, true)
	}
}

// Current is the data of the screen the page shows now (kiosk/speech reads
// what it may speak from it). It is the Server's copy: do not change it.
func (s *Server) Current() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.screen.Data
}

// Device records the devices' state and sends it to the page.
func (s *Server) Device(d Device) {
	f, _ := json.Marshal(deviceFrame{Type: TypeDevice, Device: d})
	s.mu.Lock()
	s.device = &d
	c := s.cur
	s.mu.Unlock()
	if c != nil {
		c.send(f, true)
	}
}

// Close disconnects every page. Later connections are refused.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// conn is one page connection. Its writer goroutine is started and waited
// for by serveWS.
type conn struct {
	ws   *websocket.Conn
	out  chan []byte
	done chan struct{}
	once sync.Once
}

func (c *conn) close() {
	c.once.Do(func() { close(c.done) })
}

// send queues a frame. A must-deliver frame (screen, device) that does not
// fit closes the connection; an error frame that does not fit is dropped.
func (c *conn) send(f []byte, must bool) {
	select {
	case c.out <- f:
	case <-c.done:
	default:
		if must {
			c.close()
		}
	}
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		// The upgrader has answered (403 for a foreign origin).
		s.log.Warn("websocket refused", "err", err)
		return
	}
	ws.SetReadLimit(MaxFrame)
	c := &conn{ws: ws, out: make(chan []byte, 64), done: make(chan struct{})}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	prev := s.cur
	s.cur = c
	s.conns[c] = struct{}{}
	hello, _ := json.Marshal(helloFrame{Type: TypeHello, KioskID: s.cfg.KioskID, Version: s.cfg.Version, Languages: s.cfg.Languages, Session: s.screen.Session, Speech: s.cfg.Speak})
	sc := s.screen
	dev := s.device
	// Queue the greeting under the lock so no Show can slip in before it.
	c.out <- hello
	if dev != nil {
		f, _ := json.Marshal(deviceFrame{Type: TypeDevice, Device: *dev})
		c.out <- f
	}
	f, _ := json.Marshal(screenFrame{Type: TypeScreen, Name: sc.Name, Data: sc.Data})
	c.out <- f
	s.mu.Unlock()

	if prev != nil {
		prev.send(errFrame(CodeTakenOver, "another page took over this screen"), false)
		prev.close()
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.writeLoop(c)
	}()
	s.readLoop(r.Context(), c)
	c.close()
	wg.Wait()

	s.mu.Lock()
	delete(s.conns, c)
	if s.cur == c {
		s.cur = nil
	}
	s.mu.Unlock()
}

func errFrame(code, msg string) []byte {
	f, _ := json.Marshal(errorFrame{Type: TypeError, Error: Error{Code: code, Message: msg}})
	return f
}

// writeLoop writes queued frames until the connection is done, then sends
// whatever is still queued (the taken_over notice) and closes the socket,
// which ends readLoop.
func (s *Server) writeLoop(c *conn) {
	write := func(f []byte) error {
		c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
		return c.ws.WriteMessage(websocket.TextMessage, f)
	}
	defer c.ws.Close()
	for {
		select {
		case f := <-c.out:
			if err := write(f); err != nil {
				c.close()
				return
			}
		case <-c.done:
			for {
				select {
				case f := <-c.out:
					if write(f) != nil {
						return
					}
				default:
					c.ws.SetWriteDeadline(time.Now().Add(time.Second))
					c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
					return
				}
			}
		}
	}
}

// limiter is a token bucket: rate tokens per second, up to burst.
type limiter struct {
	rate, burst, tokens float64
	last                time.Time
	warned              time.Time
}

func (l *limiter) allow(now time.Time) bool {
	l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

func (s *Server) readLoop(ctx context.Context, c *conn) {
	lim := &limiter{rate: s.cfg.Rate, burst: float64(s.cfg.Burst), tokens: float64(s.cfg.Burst), last: time.Now()}
	for {
		typ, b, err := c.ws.ReadMessage()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				// gorilla has already sent close 1009 (message too big).
				s.log.Warn("page frame too large, connection closed")
			}
			return
		}
		now := time.Now()
		if !lim.allow(now) {
			if now.Sub(lim.warned) >= time.Second {
				lim.warned = now
				c.send(errFrame(CodeRateLimited, "too many messages; slow down"), false)
			}
			continue
		}
		if typ != websocket.TextMessage {
			c.send(errFrame(CodeMalformed, "binary frames are not accepted"), false)
			continue
		}
		in, err := DecodeFrame(b)
		if err != nil {
			var e *Error
			errors.As(err, &e)
			c.send(errFrame(e.Code, e.Message), false)
			continue
		}
		s.mu.Lock()
		d, current := s.driver, s.cur == c
		s.mu.Unlock()
		if !current {
			return
		}
		if d == nil {
			c.send(errFrame(CodeInternal, "the terminal is starting, please wait"), false)
			continue
		}
		ictx, cancel := context.WithTimeout(ctx, s.cfg.IntentTimeout)
		err = d.Intent(ictx, in)
		cancel()
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				s.log.Error("intent failed", "type", in.Type, "err", err)
				e = &Error{Code: CodeInternal, Message: "something went wrong"}
			}
			c.send(errFrame(e.Code, e.Message), false)
		}
	}
}
