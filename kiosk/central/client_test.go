package central

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

func TestClientNonJSONErrorBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden by proxy", http.StatusForbidden)
	}))
	defer srv.Close()
	c, _ := NewClient(ClientConfig{BaseURL: srv.URL})
	_, err := c.Submit(context.Background(), testOp(1))
	var rej *Rejection
	if !errors.As(err, &rej) || rej.Code != "http_403" || rej.Message != "forbidden by proxy" {
		t.Fatalf("err = %#v, want Rejection http_403 with the body text", err)
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
