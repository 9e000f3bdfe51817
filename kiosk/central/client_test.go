package central

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSubjectID is a made-up ID number used as personal data in tests.
const testSubjectID = "110101199003071234"

func testOp(i int) Operation {
	return Operation{
		IdempotencyKey: fmt.Sprintf("kiosk-7/%06d", i),
		KioskID:        "kiosk-7",
		Kind:           "report_loss",
		Voucher:        fmt.Sprintf("V%06dX", i),
		CreatedAt:      time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Subject:        json.RawMessage(`{"id_number":"` + testSubjectID + `","name":"张三"}`),
		Card:           json.RawMessage(`{"card_number":"A12345678"}`),
		Evidence:       json.RawMessage(`{"method":"id_chip"}`),
	}
}

// startSim serves a new Sim on a real loopback HTTP server and returns a
// client for it.
func startSim(t testing.TB, cfg SimConfig) (*Sim, *Client, *httptest.Server) {
	t.Helper()
	sim := NewSim(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := NewClient(ClientConfig{BaseURL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c, srv
}

func TestClientSubmitAndLookups(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	ctx := context.Background()
	op := testOp(1)
	ack, err := c.Submit(ctx, op)
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if ack.CentralRef == "" || ack.State != "accepted" {
		t.Fatalf("Submit ack = %+v, want a central_ref and state accepted", ack)
	}
	again, err := c.Submit(ctx, op)
	if err != nil || again != ack {
		t.Fatalf("Submit same key again = %+v, %v; want the first answer %+v", again, err, ack)
	}
	got, err := c.Operation(ctx, op.IdempotencyKey)
	if err != nil || got != ack {
		t.Fatalf("Operation = %+v, %v; want %+v", got, err, ack)
	}
	if _, err := c.Operation(ctx, "no-such-key"); !errors.Is(err, ErrUnknownOperation) {
		t.Fatalf("Operation(unknown) err = %v, want ErrUnknownOperation", err)
	}
	v, err := c.Voucher(ctx, op.Voucher)
	if err != nil {
		t.Fatalf("Voucher: %v", err)
	}
	if v.Voucher != op.Voucher || v.Kind != op.Kind || v.State != "accepted" || v.CentralRef != ack.CentralRef || v.AppliedAt.IsZero() {
		t.Fatalf("Voucher = %+v", v)
	}
	if _, err := c.Voucher(ctx, "V999999Z"); !errors.Is(err, ErrUnknownVoucher) {
		t.Fatalf("Voucher(unknown) err = %v, want ErrUnknownVoucher", err)
	}
	applied := sim.Applied()
	if len(applied) != 1 || applied[0].Count != 1 || applied[0].Key != op.IdempotencyKey || applied[0].Voucher != op.Voucher {
		t.Fatalf("sim applied = %+v, want the one operation once", applied)
	}
}

func TestClientPersonCardsOTPHeartbeat(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	ctx := context.Background()
	cards, err := c.PersonCards(ctx, testSubjectID)
	if err != nil {
		t.Fatalf("PersonCards: %v", err)
	}
	if len(cards) != 1 || len(cards[0].CardNumber) != 9 || cards[0].CardNumber[0] != 'A' || cards[0].State != "active" {
		t.Fatalf("PersonCards = %+v, want one active card A+8 digits", cards)
	}
	again, _ := c.PersonCards(ctx, "110101199003071234")
	if len(again) != 1 || again[0] != cards[0] {
		t.Fatalf("PersonCards not deterministic: %+v then %+v", cards, again)
	}
	if cards[0].CardNumber != SimCardNumber(testSubjectID) {
		t.Fatalf("card %s, want SimCardNumber %s", cards[0].CardNumber, SimCardNumber(testSubjectID))
	}
	// A report on that card shows in the person's cards.
	op := testOp(1)
	op.Card = json.RawMessage(`{"card_number":"` + cards[0].CardNumber + `"}`)
	if _, err := c.Submit(ctx, op); err != nil {
		t.Fatal(err)
	}
	after, _ := c.PersonCards(ctx, testSubjectID)
	if len(after) != 1 || after[0].State != "loss_reported" {
		t.Fatalf("PersonCards after report_loss = %+v, want the card loss_reported", after)
	}
	none, err := c.PersonCards(ctx, "110101199003070000")
	if err != nil || none == nil || len(none) != 0 {
		t.Fatalf("PersonCards(...0000) = %#v, %v; want an empty list", none, err)
	}

	if err := c.RequestOTP(ctx, testSubjectID); err != nil {
		t.Fatalf("RequestOTP: %v", err)
	}
	if ok, err := c.VerifyOTP(ctx, testSubjectID, SimOTP); !ok || err != nil {
		t.Fatalf("VerifyOTP(right code) = %v, %v", ok, err)
	}
	if ok, err := c.VerifyOTP(ctx, testSubjectID, "000000"); ok || err != nil {
		t.Fatalf("VerifyOTP(wrong code) = %v, %v; want false, nil", ok, err)
	}

	if err := c.Heartbeat(ctx, "kiosk-7", map[string]any{"queue_pending": 3}); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	hb := sim.Heartbeats()
	if len(hb) != 1 || hb[0].KioskID != "kiosk-7" || !strings.Contains(string(hb[0].Status), `"queue_pending":3`) {
		t.Fatalf("sim heartbeats = %+v", hb)
	}
}

// Personal data travels in bodies only: no URL the client requests holds
// the ID number, and neither do its errors.
func TestClientKeepsPersonalDataOutOfURLs(t *testing.T) {
	sim := NewSim(SimConfig{})
	var mu sync.Mutex
	var urls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		urls = append(urls, r.URL.String())
		mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	defer srv.Close()
	c, err := NewClient(ClientConfig{BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c.PersonCards(ctx, testSubjectID)
	c.RequestOTP(ctx, testSubjectID)
	c.VerifyOTP(ctx, testSubjectID, SimOTP)
	c.Submit(ctx, testOp(1))
	sim.SetFaults(SimConfig{FailRate: 1})
	_, err = c.PersonCards(ctx, testSubjectID)
	if err == nil || strings.Contains(err.Error(), testSubjectID) {
		t.Fatalf("PersonCards during failure: err = %v, want an error without the ID number", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(urls) != 5 {
		t.Fatalf("saw %d requests, want 5", len(urls))
	}
	for _, u := range urls {
		if strings.Contains(u, testSubjectID) || strings.Contains(u, "A12345678") {
			t.Errorf("personal data in URL %q", u)
		}
	}
}

func TestClientRejections(t *testing.T) {
	_, c, _ := startSim(t, SimConfig{})
	ctx := context.Background()
	noKind := testOp(1)
	noKind.Kind = ""
	unknown := testOp(2)
	unknown.Kind = "buy_coffee"
	noSubject := testOp(3)
	noSubject.Subject = nil
	for _, tc := range []struct {
		name   string
		op     Operation
		status int
		code   string
		inMsg  string
	}{
		{"missing kind", noKind, 400, "invalid", "kind"},
		{"missing subject", noSubject, 400, "invalid", "subject"},
		{"unknown kind", unknown, 422, "unknown_kind", "buy_coffee"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Submit(ctx, tc.op)
			var rej *Rejection
			if !errors.As(err, &rej) || !IsPermanent(err) {
				t.Fatalf("err = %v, want *Rejection", err)
			}
			if rej.Status != tc.status || rej.Code != tc.code || !strings.Contains(rej.Message, tc.inMsg) {
				t.Fatalf("rejection = %+v, want %d %s mentioning %q", rej, tc.status, tc.code, tc.inMsg)
			}
			for _, want := range []string{fmt.Sprint(tc.status), tc.code, tc.inMsg} {
				if !strings.Contains(rej.Error(), want) {
					t.Errorf("Error() = %q does not name %q", rej.Error(), want)
				}
			}
		})
	}
}

func TestClientTransientFailures(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{})
	ctx := context.Background()

	sim.SetFaults(SimConfig{FailRate: 1})
	_, err := c.Submit(ctx, testOp(1))
	var se *ServerError
	if !errors.As(err, &se) || se.Status != 503 || IsPermanent(err) {
		t.Fatalf("FailRate 1: err = %v, want a transient 503 *ServerError", err)
	}

	sim.SetFaults(SimConfig{Outage: true})
	if _, err := c.Submit(ctx, testOp(1)); err == nil || IsPermanent(err) {
		t.Fatalf("Outage: err = %v, want a transient error", err)
	}
	if _, err := c.Voucher(ctx, "V1"); err == nil || IsPermanent(err) || errors.Is(err, ErrUnknownVoucher) {
		t.Fatalf("Outage: Voucher err = %v, want a transient error", err)
	}
	if n := len(sim.Applied()); n != 0 {
		t.Fatalf("sim applied %d operations during 503/outage, want 0", n)
	}

	// A dropped answer: applied at central, but the client sees no answer.
	sim.SetFaults(SimConfig{DropRate: 1})
	if _, err := c.Submit(ctx, testOp(1)); err == nil || IsPermanent(err) {
		t.Fatalf("DropRate 1: err = %v, want a transient error", err)
	}
	sim.SetFaults(SimConfig{})
	ack, err := c.Submit(ctx, testOp(1))
	if err != nil || ack.CentralRef == "" {
		t.Fatalf("retry after drop: %+v, %v", ack, err)
	}
	applied := sim.Applied()
	if len(applied) != 1 || applied[0].Count != 1 {
		t.Fatalf("sim applied = %+v, want the operation applied once", applied)
	}

	// Latency beyond the client's timeout is a transient error too.
	sim.SetFaults(SimConfig{Latency: time.Minute})
	short, err := NewClient(ClientConfig{BaseURL: c.base, Timeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Submit(ctx, testOp(2)); err == nil || IsPermanent(err) {
		t.Fatalf("timeout: err = %v, want a transient error", err)
	}
}

func TestClientDuplicateAnswerIsAck(t *testing.T) {
	sim, c, _ := startSim(t, SimConfig{DuplicateRate: 1})
	ctx := context.Background()
	first, err := c.Submit(ctx, testOp(1))
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Submit(ctx, testOp(1))
	if err != nil || second.CentralRef != first.CentralRef {
		t.Fatalf("409 duplicate: %+v, %v; want the first ref %q", second, err, first.CentralRef)
	}
	if a := sim.Applied(); len(a) != 1 || a[0].Count != 1 {
		t.Fatalf("sim applied = %+v", a)
	}
}

// A central that answers 409 duplicate without its reference: the client
// asks GET /v1/operations/{key} for it.
func TestClientDuplicateWithoutRef(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/v1/operations":
			writeJSON(w, 409, map[string]string{"code": "duplicate"})
		case r.Method == "GET" && r.URL.Path == "/v1/operations/kiosk-7/000001":
			writeJSON(w, 200, map[string]string{"central_ref": "C42", "state": "accepted"})
		default:
			writeJSON(w, 404, map[string]string{"code": "not_found", "message": r.URL.Path})
		}
	}))
	defer srv.Close()
	c, _ := NewClient(ClientConfig{BaseURL: srv.URL})
	ack, err := c.Submit(context.Background(), testOp(1))
	if err != nil || ack.CentralRef != "C42" {
		t.Fatalf("Submit = %+v, %v; want ref C42", ack, err)
	}
}

func TestClientMalformedSuccessIsTransient(t *testing.T) {
	for _, body := range []string{"", "not json", "{}", "null", `{"central_ref":""}`, `["C1"]`, `{"central_ref":42}`} {
		t.Run(body, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(200)
				w.Write([]byte(body))
			}))
			defer srv.Close()
			c, _ := NewClient(ClientConfig{BaseURL: srv.URL})
			_, err := c.Submit(context.Background(), testOp(1))
			if !errors.Is(err, ErrMalformedAnswer) || IsPermanent(err) {
				t.Fatalf("err = %v, want transient ErrMalformedAnswer", err)
			}
			if !strings.Contains(err.Error(), "200") {
				t.Fatalf("err = %q, want it to name the status", err)
			}
		})
	}
}

// nginxPage is the body nginx sends with its own error pages.
func nginxPage(status int) string {
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	return "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
		"</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"
}

// nginxError answers like nginx in front of central when it refuses a
// request itself: its own HTML page (or an empty body) with its headers.
func nginxError(w http.ResponseWriter, status int, empty bool) {
	w.Header().Set("Server", "nginx/1.22.1")
	if status == http.StatusProxyAuthRequired {
		w.Header().Set("Proxy-Authenticate", `Basic realm="proxy"`)
	}
	if empty {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	w.WriteHeader(status)
	io.WriteString(w, nginxPage(status))
}

// A 4xx that is not central's own refusal (no {code, message} body) is
// transient: a misrouted proxy or a TLS gateway says nothing about the
// operation. Central's own 4xx stays permanent (TestClientRejections).
func TestClientForeign4xxIsTransient(t *testing.T) {
	for _, status := range []int{401, 403, 404, 405, 407, 413, 421} {
		for _, body := range []string{"html", "empty", "json without code", "text"} {
			t.Run(fmt.Sprintf("%d %s", status, body), func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					switch body {
					case "html", "empty":
						nginxError(w, status, body == "empty")
					case "json without code":
						writeJSON(w, status, map[string]string{"message": "no Route matched with those values"})
					case "text":
						http.Error(w, "forbidden by proxy", status)
					}
				}))
				defer srv.Close()
				c, _ := NewClient(ClientConfig{BaseURL: srv.URL})
				ctx := context.Background()
				_, err := c.Submit(ctx, testOp(1))
				var se *ServerError
				if !errors.As(err, &se) || IsPermanent(err) || !se.Foreign || se.Status != status {
					t.Fatalf("Submit: err = %#v, want a transient foreign *ServerError %d", err, status)
				}
				if !strings.Contains(err.Error(), fmt.Sprint(status)) || !strings.Contains(err.Error(), "not central's") {
					t.Errorf("Error() = %q, want it to name the status and say the answer is not central's", err)
				}
				// Lookups and OTP do not read a proxy's 404/403 as central's.
				if _, err := c.Voucher(ctx, "100000471"); err == nil || errors.Is(err, ErrUnknownVoucher) || IsPermanent(err) {
					t.Errorf("Voucher: err = %v, want a transient error, not 'unknown voucher'", err)
				}
				if _, err := c.Operation(ctx, "kiosk-7/000001"); err == nil || errors.Is(err, ErrUnknownOperation) || IsPermanent(err) {
					t.Errorf("Operation: err = %v, want a transient error, not 'unknown operation'", err)
				}
				if ok, err := c.VerifyOTP(ctx, testSubjectID, "123456"); ok || err == nil || IsPermanent(err) {
					t.Errorf("VerifyOTP = %v, %v; want a transient error, not a refused code", ok, err)
				}
			})
		}
	}
}

func TestClientRetryAfter(t *testing.T) {
	date := time.Now().Add(45 * time.Second).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		status   int
		header   string
		min, max time.Duration
	}{
		{429, "30", 30 * time.Second, 30 * time.Second},
		{503, "7", 7 * time.Second, 7 * time.Second},
		{503, date, 43 * time.Second, 45 * time.Second},
		{503, "Wed, 21 Oct 2015 07:28:00 GMT", 0, 0}, // in the past
		{503, "soon", 0, 0},
		{503, "", 0, 0},
		{500, "30", 0, 0}, // only 429 and 503 carry it
	} {
		t.Run(fmt.Sprintf("%d %s", tc.status, tc.header), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				writeJSON(w, tc.status, map[string]string{"code": "busy", "message": "later"})
			}))
			defer srv.Close()
			c, _ := NewClient(ClientConfig{BaseURL: srv.URL})
			_, err := c.Submit(context.Background(), testOp(1))
			var se *ServerError
			if !errors.As(err, &se) || IsPermanent(err) {
				t.Fatalf("err = %#v, want a transient *ServerError", err)
			}
			if se.RetryAfter < tc.min || se.RetryAfter > tc.max {
				t.Fatalf("RetryAfter = %v, want %v..%v", se.RetryAfter, tc.min, tc.max)
			}
		})
	}
}

func TestNewClientErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	missing := filepath.Join(dir, "missing.pem")
	for _, tc := range []struct {
		name string
		cfg  ClientConfig
		want string
	}{
		{"empty URL", ClientConfig{}, "base URL"},
		{"ftp URL", ClientConfig{BaseURL: "ftp://x"}, "ftp://x"},
		{"no host", ClientConfig{BaseURL: "https://"}, "base URL"},
		{"negative timeout", ClientConfig{BaseURL: "https://c", Timeout: -1}, "timeout"},
		{"missing CA", ClientConfig{BaseURL: "https://c", CAFile: missing}, missing},
		{"CA not PEM", ClientConfig{BaseURL: "https://c", CAFile: notPEM}, notPEM},
		{"cert without key", ClientConfig{BaseURL: "https://c", CertFile: notPEM}, "key"},
		{"bad cert", ClientConfig{BaseURL: "https://c", CertFile: notPEM, KeyFile: missing}, notPEM},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewClient(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}
