package central

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Operation is one outbox entry as central receives it. Subject, Card,
// Agent and Evidence are the personal parts (the outbox's Personal JSON
// {subject, card, agent, evidence}); they travel in the request body only and
// are never logged. Agent is left out of the body when empty.
type Operation struct {
	IdempotencyKey string
	KioskID        string
	Kind           string
	Voucher        string
	CreatedAt      time.Time
	Subject        json.RawMessage
	Card           json.RawMessage
	Agent          json.RawMessage
	Evidence       json.RawMessage
}

// operationBody is the wire form of POST /v1/operations. `voucher` is our
// addition to the first design (API.md).
type operationBody struct {
	IdempotencyKey string          `json:"idempotency_key"`
	KioskID        string          `json:"kiosk_id"`
	Kind           string          `json:"kind"`
	CreatedAt      time.Time       `json:"created_at"`
	Voucher        string          `json:"voucher,omitempty"`
	Subject        json.RawMessage `json:"subject,omitempty"`
	Card           json.RawMessage `json:"card,omitempty"`
	Agent          json.RawMessage `json:"agent,omitempty"`
	Evidence       json.RawMessage `json:"evidence,omitempty"`
}

// Ack is central's acknowledgement of an operation.
type Ack struct {
	CentralRef string
	State      string
}

// VoucherState is what central knows of the operation behind a voucher
// (the lookup flow).
type VoucherState struct {
	Voucher    string    `json:"voucher"`
	Kind       string    `json:"kind"`
	State      string    `json:"state"`
	CentralRef string    `json:"central_ref"`
	AppliedAt  time.Time `json:"applied_at"`
}

// PersonCard is one social security card of a person at central.
type PersonCard struct {
	CardNumber string `json:"card_number"`
	State      string `json:"state"`
}

// Rejection is a permanent refusal by central (a 4xx answer carrying
// central's {code, message} body): retrying the same request cannot
// succeed. Code and Message are central's reason.
type Rejection struct {
	Status  int
	Code    string
	Message string
}

func (r *Rejection) Error() string {
	return fmt.Sprintf("central rejected the request: %d %s: %s", r.Status, r.Code, r.Message)
}

// ServerError is a transient failure: a 5xx, a 408 or 429 (which say "try
// again later" despite being 4xx), or a 4xx that is not central's own
// refusal (Foreign). Retrying may succeed.
type ServerError struct {
	Status  int
	Code    string
	Message string
	// Foreign: a 4xx without central's {code, message} body, answered by
	// something in front of central (a misrouted reverse proxy, a TLS
	// gateway refusing the client certificate, a body size limit). It says
	// nothing about the operation; Code is "http_<status>" and Message the
	// start of the body.
	Foreign bool
	// RetryAfter is the wait a 429 or 503 asked for in its Retry-After
	// header (seconds or an HTTP date), 0 when it gave none.
	RetryAfter time.Duration
}

func (e *ServerError) Error() string {
	var s string
	switch {
	case e.Foreign:
		s = fmt.Sprintf("answer %d is not central's (no {code, message} body; a proxy or gateway in the way?)", e.Status)
		if e.Message != "" {
			s += ": " + e.Message
		}
	case e.Code == "" && e.Message == "":
		s = fmt.Sprintf("central answered %d", e.Status)
	default:
		s = fmt.Sprintf("central answered %d %s: %s", e.Status, e.Code, e.Message)
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

var (
	// ErrMalformedAnswer wraps a 2xx answer whose body cannot be understood.
	// It is transient: the request may have been applied, and repeating it
	// with the same idempotency key is safe.
	ErrMalformedAnswer = errors.New("central: malformed answer")
	// ErrUnknownVoucher is returned by Voucher when central knows no
	// operation with that voucher.
	ErrUnknownVoucher = errors.New("central: unknown voucher")
	// ErrUnknownOperation is returned by Operation when central knows no
	// operation with that idempotency key.
	ErrUnknownOperation = errors.New("central: unknown operation")
)

// IsPermanent reports whether err is a permanent rejection by central.
func IsPermanent(err error) bool {
	var r *Rejection
	return errors.As(err, &r)
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// BaseURL of the central API, e.g. https://central.example:8443.
	BaseURL string
	// CAFile is a PEM bundle of the CAs that sign central's certificate;
	// empty means the system roots.
	CAFile string
	// CertFile and KeyFile are the terminal's client certificate and key
	// (PEM) for mTLS; both or neither.
	CertFile, KeyFile string
	// Timeout bounds each request; 0 means 10 s.
	Timeout time.Duration
	// Transport replaces the HTTP transport (tests). When set, CAFile,
	// CertFile and KeyFile are ignored.
	Transport http.RoundTripper
}

// DefaultTimeout bounds each request when ClientConfig.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// maxAnswer bounds how much of an answer body is read: central's answers
// are small, and a runaway body must not exhaust memory.
const maxAnswer = 1 << 20

// Client speaks the central API. It is safe for concurrent use and reuses
// connections (keep-alive).
type Client struct {
	base    string
	hc      *http.Client
	timeout time.Duration
	fleet   keysCache // the last fleet keys answer (keys.go)
}

// NewClient checks cfg and builds a client. Errors name the setting or the
// file that is wrong.
func NewClient(cfg ClientConfig) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("central: base URL %q: want http(s)://host[:port][/path]", cfg.BaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("central: base URL %q: no query or fragment allowed", cfg.BaseURL)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("central: timeout %v is negative", cfg.Timeout)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	rt := cfg.Transport
	if rt == nil {
		tlsCfg, err := clientTLS(cfg)
		if err != nil {
			return nil, err
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsCfg
		// One terminal talks to one central: keep enough idle connections
		// that a drain never reconnects per request.
		t.MaxIdleConnsPerHost = 8
		t.ResponseHeaderTimeout = timeout
		rt = t
	}
	return &Client{
		base:    strings.TrimRight(u.String(), "/"),
		hc:      &http.Client{Transport: rt, CheckRedirect: noRedirect},
		timeout: timeout,
	}, nil
}

// CloseIdleConnections closes the kept-alive connections (on shutdown).
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// noRedirect: a redirect would resend personal data to another place.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func clientTLS(cfg ClientConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("central: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("central: CA file %q holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	switch {
	case cfg.CertFile == "" && cfg.KeyFile == "":
	case cfg.CertFile == "" || cfg.KeyFile == "":
		return nil, fmt.Errorf("central: client certificate needs both a cert file and a key file (cert %q, key %q)", cfg.CertFile, cfg.KeyFile)
	default:
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("central: client certificate %q / key %q: %w", cfg.CertFile, cfg.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// call sends one request and returns the status and (bounded) body. A
// failure to get an answer (timeout, reset, refused) is returned as a
// transient error naming the request; the path never holds personal data.
func (c *Client) call(ctx context.Context, method, path string, in any, idemKey string) (int, []byte, error) {
	status, b, _, err := c.callHeader(ctx, method, path, in, idemKey)
	return status, b, err
}

// callHeader is call that also returns the answer's header.
func (c *Client) callHeader(ctx context.Context, method, path string, in any, idemKey string) (int, []byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var body io.Reader
	var raw []byte
	if in != nil {
		var err error
		raw, err = json.Marshal(in)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("central: %s %s: encode body: %w", method, path, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("central: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		// Makes the request replayable for net/http when a reused
		// connection turns out dead before anything was sent.
		req.Header.Set("Idempotency-Key", idemKey)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("central: %s %s: %w", method, path, stripURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("central: %s %s: read answer (status %d): %w", method, path, resp.StatusCode, err)
	}
	if len(b) > maxAnswer {
		// Drain nothing more; the connection is dropped instead of reused.
		return 0, nil, nil, fmt.Errorf("%w: %s %s: answer larger than %d bytes", ErrMalformedAnswer, method, path, maxAnswer)
	}
	return resp.StatusCode, b, resp.Header, nil
}

// stripURL keeps the cause of a *url.Error but not its repeated method and
// URL, which the caller already names.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Submit delivers op. A 200/201 answer, a repeat of the first answer for
// this key, and a 409 {code:"duplicate"} are all acknowledgements. A 4xx is
// a *Rejection (permanent) only when its body is central's {code, message}.
// Anything else — 5xx, 408, 429, a 4xx from a proxy or gateway, timeouts,
// resets, a 2xx with a malformed body — is a transient error to retry with
// the same key; a 429 or 503 carries its Retry-After in the *ServerError.
func (c *Client) Submit(ctx context.Context, op Operation) (Ack, error) {
	if op.IdempotencyKey == "" {
		return Ack{}, errors.New("central: submit: operation has no idempotency key")
	}
	body := operationBody{
		IdempotencyKey: op.IdempotencyKey,
		KioskID:        op.KioskID,
		Kind:           op.Kind,
		CreatedAt:      op.CreatedAt.UTC(),
		Voucher:        op.Voucher,
		Subject:        op.Subject,
		Card:           op.Card,
		Agent:          op.Agent,
		Evidence:       op.Evidence,
	}
	status, b, hdr, err := c.callHeader(ctx, http.MethodPost, "/v1/operations", body, op.IdempotencyKey)
	if err != nil {
		return Ack{}, err
	}
	ack, err := decodeSubmit(status, b)
	var se *ServerError
	if errors.As(err, &se) && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
		se.RetryAfter = parseRetryAfter(hdr.Get("Retry-After"), time.Now())
	}
	if errors.Is(err, errDuplicateNoRef) {
		// Central says it has the operation but did not repeat its
		// reference: ask for it.
		return c.Operation(ctx, op.IdempotencyKey)
	}
	return ack, err
}

// Operation returns central's state of the operation with idempotency key
// key; ErrUnknownOperation when central does not know it.
func (c *Client) Operation(ctx context.Context, key string) (Ack, error) {
	if key == "" {
		return Ack{}, errors.New("central: operation: empty idempotency key")
	}
	status, b, err := c.call(ctx, http.MethodGet, "/v1/operations/"+url.PathEscape(key), nil, "")
	if err != nil {
		return Ack{}, err
	}
	return decodeOperation(status, b)
}

// Voucher returns central's state of the operation behind voucher;
// ErrUnknownVoucher when central does not know it.
func (c *Client) Voucher(ctx context.Context, voucher string) (VoucherState, error) {
	if voucher == "" {
		return VoucherState{}, errors.New("central: voucher lookup: empty voucher")
	}
	status, b, err := c.call(ctx, http.MethodGet, "/v1/vouchers/"+url.PathEscape(voucher), nil, "")
	if err != nil {
		return VoucherState{}, err
	}
	return decodeVoucher(status, b)
}

// PersonCards returns the social security cards central holds for the
// person with this ID number. The number travels in the body only.
func (c *Client) PersonCards(ctx context.Context, idNumber string) ([]PersonCard, error) {
	if idNumber == "" {
		return nil, errors.New("central: person cards: empty ID number")
	}
	status, b, err := c.call(ctx, http.MethodPost, "/v1/persons/cards", map[string]string{"id_number": idNumber}, "")
	if err != nil {
		return nil, err
	}
	return decodePersonCards(status, b)
}

// RequestOTP asks central to text a one-time code to the person's
// registered phone.
func (c *Client) RequestOTP(ctx context.Context, idNumber string) error {
	if idNumber == "" {
		return errors.New("central: request OTP: empty ID number")
	}
	status, b, err := c.call(ctx, http.MethodPost, "/v1/otp", map[string]string{"id_number": idNumber}, "")
	if err != nil {
		return err
	}
	return decodeNoContent(status, b)
}

// VerifyOTP checks a one-time code: true when central accepts it (200),
// false when it refuses it (403); any other answer is an error.
func (c *Client) VerifyOTP(ctx context.Context, idNumber, code string) (bool, error) {
	if idNumber == "" || code == "" {
		return false, errors.New("central: verify OTP: empty ID number or code")
	}
	status, b, err := c.call(ctx, http.MethodPost, "/v1/otp/verify", map[string]string{"id_number": idNumber, "code": code}, "")
	if err != nil {
		return false, err
	}
	return decodeVerify(status, b)
}

// Heartbeat tells central this kiosk is alive; status is sent as {status}.
// It must not hold personal data.
func (c *Client) Heartbeat(ctx context.Context, kioskID string, status any) error {
	if kioskID == "" {
		return errors.New("central: heartbeat: empty kiosk id")
	}
	code, b, err := c.call(ctx, http.MethodPost, "/v1/kiosks/"+url.PathEscape(kioskID)+"/heartbeat", map[string]any{"status": status}, "")
	if err != nil {
		return err
	}
	return decodeNoContent(code, b)
}
