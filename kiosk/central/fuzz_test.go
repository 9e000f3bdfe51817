package central

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"
)

// FuzzDecodeAnswer feeds arbitrary central answers to every decoder: none
// may panic, and the classification must hold — a 4xx other than 408/429
// whose body is central's {code, message} is a permanent *Rejection,
// anything else that fails is transient, and a success always carries what
// the caller relies on.
func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{200, `{"central_ref":"C0000000001","state":"accepted"}`},
		{201, `{"central_ref":"C1"}`},
		{409, `{"code":"duplicate","central_ref":"C1","state":"accepted"}`},
		{409, `{"code":"duplicate"}`},
		{400, `{"code":"invalid","message":"missing: kind"}`},
		{422, `{"code":"unknown_kind","message":"unknown kind \"x\""}`},
		{503, `{"code":"unavailable"}`},
		{429, ``},
		{404, `{"code":"not_found"}`},
		{200, `[{"card_number":"A12345678","state":"active"}]`},
		{200, `{"voucher":"V1","kind":"report_loss","state":"accepted","central_ref":"C1","applied_at":"2026-11-23T10:00:00Z"}`},
		{200, `null`},
		{200, "\xff\xfe"},
		{403, `<html>forbidden</html>`},
		{404, ``},
		{401, `{"message":"Unauthorized"}`},
		{413, `{"code":""}`},
		{302, ``},
	} {
		f.Add(s.status, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		permanent := status >= 400 && status < 500 && status != 408 && status != 429 && fromCentral(body)
		check := func(name string, err error, special ...error) {
			if err == nil {
				return
			}
			for _, s := range special {
				if errors.Is(err, s) {
					return
				}
			}
			if IsPermanent(err) != permanent {
				t.Fatalf("%s(%d): %v: permanent = %v, want %v", name, status, err, IsPermanent(err), permanent)
			}
			if err.Error() == "" {
				t.Fatalf("%s(%d): empty error message", name, status)
			}
		}
		ack, err := decodeSubmit(status, body)
		if err == nil && (ack.CentralRef == "" || ack.State == "") {
			t.Fatalf("decodeSubmit(%d, %q) = %+v without ref or state", status, body, ack)
		}
		if status >= 200 && status < 300 && err != nil && !errors.Is(err, ErrMalformedAnswer) {
			t.Fatalf("decodeSubmit(%d): %v, want ErrMalformedAnswer", status, err)
		}
		check("decodeSubmit", err, errDuplicateNoRef)
		ack, err = decodeOperation(status, body)
		if err == nil && ack.CentralRef == "" {
			t.Fatalf("decodeOperation ok without ref")
		}
		check("decodeOperation", err, ErrUnknownOperation)
		v, err := decodeVoucher(status, body)
		if err == nil && v.State == "" {
			t.Fatalf("decodeVoucher ok without state")
		}
		check("decodeVoucher", err, ErrUnknownVoucher)
		cards, err := decodePersonCards(status, body)
		if err == nil && cards == nil {
			t.Fatalf("decodePersonCards ok with nil cards")
		}
		check("decodePersonCards", err)
		_, err = decodeVerify(status, body)
		check("decodeVerify", err)
		check("decodeNoContent", decodeNoContent(status, body))
	})
}

// FuzzSimRequest feeds arbitrary bodies to the simulator's endpoints: it
// answers every one with a JSON status it documents, never a panic or a 5xx.
func FuzzSimRequest(f *testing.F) {
	f.Add("/v1/operations", []byte(`{"idempotency_key":"k","kiosk_id":"x","kind":"report_loss","created_at":"2026-11-23T10:00:00Z","subject":{}}`))
	f.Add("/v1/operations", []byte(`{"idempotency_key":"k","kiosk_id":"x","kind":"nope","created_at":"2026-11-23T10:00:00Z","subject":{},"card":[]}`))
	f.Add("/v1/persons/cards", []byte(`{"id_number":"110101199003070000"}`))
	f.Add("/v1/otp/verify", []byte(`{"id_number":"1","code":"246810"}`))
	f.Add("/v1/kiosks/k/heartbeat", []byte(`{"status":{"ok":true}}`))
	f.Add("/_sim/faults", []byte(`{"fail_rate":0.5}`)) // POST: 405, faults stay off
	sim := NewSim(SimConfig{})
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.URL.Path = path
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST %q %q: %d %s", path, body, rec.Code, rec.Body)
		}
	})
}
