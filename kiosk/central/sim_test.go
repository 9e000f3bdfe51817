package central

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func doJSON(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSimControlEndpoints(t *testing.T) {
	sim, c, srv := startSim(t, SimConfig{})
	status, body := doJSON(t, "PUT", srv.URL+"/_sim/faults", `{"latency_ms":5,"fail_rate":0.5,"drop_rate":0.25,"duplicate_rate":1,"outage":true}`)
	if status != 200 {
		t.Fatalf("PUT /_sim/faults = %d %s", status, body)
	}
	f := sim.Faults()
	if f.Latency != 5*time.Millisecond || f.FailRate != 0.5 || f.DropRate != 0.25 || f.DuplicateRate != 1 || !f.Outage {
		t.Fatalf("faults after PUT = %+v", f)
	}
	status, body = doJSON(t, "GET", srv.URL+"/_sim/faults", "")
	var fb faultsBody
	if status != 200 || json.Unmarshal([]byte(body), &fb) != nil || fb.LatencyMS != 5 || !fb.Outage {
		t.Fatalf("GET /_sim/faults = %d %s", status, body)
	}
	for _, bad := range []string{`{"fail_rate":1.5}`, `{"drop_rate":-0.1}`, `{"latency_ms":-1}`, `not json`} {
		status, body = doJSON(t, "PUT", srv.URL+"/_sim/faults", bad)
		if status != 400 || !strings.Contains(body, `"invalid"`) {
			t.Errorf("PUT /_sim/faults %s = %d %s, want 400 invalid", bad, status, body)
		}
	}
	if !sim.Faults().Outage {
		t.Fatal("a rejected PUT changed the faults")
	}

	doJSON(t, "PUT", srv.URL+"/_sim/faults", `{}`)
	if _, err := c.Submit(t.Context(), testOp(1)); err != nil {
		t.Fatal(err)
	}
	c.Heartbeat(t.Context(), "kiosk-7", "ok")
	status, body = doJSON(t, "GET", srv.URL+"/_sim/operations", "")
	var ops []map[string]any
	if status != 200 || json.Unmarshal([]byte(body), &ops) != nil || len(ops) != 1 ||
		ops[0]["idempotency_key"] != testOp(1).IdempotencyKey || ops[0]["count"] != 1.0 || ops[0]["order"] != 1.0 ||
		ops[0]["voucher"] != testOp(1).Voucher || ops[0]["kind"] != "report_loss" {
		t.Fatalf("GET /_sim/operations = %d %s", status, body)
	}
	if strings.Contains(body, testSubjectID) {
		t.Fatalf("the sim's record holds personal data: %s", body)
	}
	status, body = doJSON(t, "GET", srv.URL+"/_sim/heartbeats", "")
	if status != 200 || !strings.Contains(body, `"kiosk_id":"kiosk-7"`) {
		t.Fatalf("GET /_sim/heartbeats = %d %s", status, body)
	}
	status, body = doJSON(t, "GET", srv.URL+"/_sim/otp", "")
	if status != 200 || !strings.Contains(body, SimOTP) {
		t.Fatalf("GET /_sim/otp = %d %s", status, body)
	}
}

func TestSimValidation(t *testing.T) {
	_, _, srv := startSim(t, SimConfig{})
	const ok = `"idempotency_key":"k1","kiosk_id":"kiosk-7","kind":"report_loss","created_at":"2026-11-23T10:00:00Z","subject":{"id_number":"1"}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		code, inMsg              string
	}{
		{"not json", "POST", "/v1/operations", `{`, 400, "invalid", "JSON"},
		{"array", "POST", "/v1/operations", `[]`, 400, "invalid", "JSON"},
		{"all missing", "POST", "/v1/operations", `{}`, 400, "invalid", "idempotency_key, kiosk_id, kind, created_at, subject"},
		{"no created_at", "POST", "/v1/operations", `{"idempotency_key":"k","kiosk_id":"x","kind":"report_loss","subject":{}}`, 400, "invalid", "created_at"},
		{"card not object", "POST", "/v1/operations", `{` + ok + `,"card":"A1"}`, 400, "invalid", "card"},
		{"unknown kind", "POST", "/v1/operations", strings.Replace(`{`+ok+`}`, "report_loss", "teleport", 1), 422, "unknown_kind", "teleport"},
		{"cards without id", "POST", "/v1/persons/cards", `{}`, 400, "invalid", "id_number"},
		{"otp without id", "POST", "/v1/otp", `{}`, 400, "invalid", "id_number"},
		{"verify without code", "POST", "/v1/otp/verify", `{"id_number":"1"}`, 400, "invalid", "code"},
		{"heartbeat without status", "POST", "/v1/kiosks/k/heartbeat", `{}`, 400, "invalid", "status"},
		{"unknown endpoint", "GET", "/v1/nothing", ``, 404, "not_found", "/v1/nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := doJSON(t, tc.method, srv.URL+tc.path, tc.body)
			var e errorBody
			if status != tc.status || json.Unmarshal([]byte(body), &e) != nil || e.Code != tc.code || !strings.Contains(e.Message, tc.inMsg) {
				t.Fatalf("= %d %s, want %d {code:%s} mentioning %q", status, body, tc.status, tc.code, tc.inMsg)
			}
		})
	}
	status, body := doJSON(t, "POST", srv.URL+"/v1/operations", `{`+ok+`}`)
	if status != 201 || !strings.Contains(body, `"central_ref"`) {
		t.Fatalf("valid operation = %d %s, want 201 with central_ref", status, body)
	}
}

// Fault choices follow the seed: the same seed fails the same requests.
func TestSimFailRateIsSeeded(t *testing.T) {
	count := func() int {
		_, c, _ := startSim(t, SimConfig{FailRate: 0.5, Seed: 3})
		n := 0
		for i := 0; i < 40; i++ {
			if _, err := c.PersonCards(t.Context(), "1"); err != nil {
				n++
			}
		}
		return n
	}
	a, b := count(), count()
	if a != b || a == 0 || a == 40 {
		t.Fatalf("failures at FailRate 0.5 with one seed: %d then %d; want equal and between 0 and 40", a, b)
	}
}

// The sim records every submission of an operation, not only the first:
// repeats are counted, a repeat that differs from the first (voucher, kind
// or subject) is a conflict, and the subject is recorded by its digest, the
// same for any spelling of the same JSON.
func TestSimRecordsEverySubmission(t *testing.T) {
	sim, c, srv := startSim(t, SimConfig{})
	op := testOp(1)
	for range 3 {
		if _, err := c.Submit(t.Context(), op); err != nil {
			t.Fatal(err)
		}
	}
	a := sim.Applied()
	if len(a) != 1 || a[0].Count != 1 || a[0].Submissions != 3 || a[0].Conflicts != 0 {
		t.Fatalf("after 3 submissions of one operation: %+v, want count 1, submissions 3, conflicts 0", a)
	}
	spelled := json.RawMessage(" {\n \"name\" : \"张三\", \"id_number\":\"" + testSubjectID + "\" }")
	if a[0].SubjectSHA256 != SubjectDigest(op.Subject) || SubjectDigest(spelled) != SubjectDigest(op.Subject) {
		t.Fatalf("subject digest %s; SubjectDigest(sent) %s, of the same JSON spelled otherwise %s",
			a[0].SubjectSHA256, SubjectDigest(op.Subject), SubjectDigest(spelled))
	}
	for _, change := range []func(*Operation){
		func(o *Operation) { o.Voucher = "V999999X" },
		func(o *Operation) { o.Kind = "suspend_settlement" },
		func(o *Operation) {
			o.Subject = json.RawMessage(`{"id_number":"` + testSubjectID + `","name":"李四"}`)
		},
	} {
		other := testOp(1)
		change(&other)
		if _, err := c.Submit(t.Context(), other); err != nil {
			t.Fatal(err)
		}
	}
	a = sim.Applied()
	if len(a) != 1 || a[0].Count != 1 || a[0].Submissions != 6 || a[0].Conflicts != 3 || a[0].Voucher != op.Voucher {
		t.Fatalf("after 3 conflicting repeats: %+v, want the first kept, submissions 6, conflicts 3", a)
	}
	status, body := doJSON(t, "GET", srv.URL+"/_sim/operations", "")
	if status != 200 || !strings.Contains(body, `"submissions":6`) || !strings.Contains(body, `"conflicts":3`) ||
		!strings.Contains(body, `"subject_sha256":"`+SubjectDigest(op.Subject)+`"`) {
		t.Fatalf("GET /_sim/operations = %d %s", status, body)
	}
	if strings.Contains(body, testSubjectID) || strings.Contains(body, "张三") {
		t.Fatalf("the sim's record holds personal data: %s", body)
	}
}
