package daemon

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/sim/vprinter"
	"github.com/kioskd/kioskd/kiosk"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/netlimit"
	"github.com/kioskd/kioskd/scripts/rig"
)

// Remote health (issue 6) through a running daemon: metrics, status, SLA,
// heartbeats, the management API's authorisation, and no personal data in
// anything ops or technicians see.

// get reads a management or central-sim URL; JSON answers decode into v.
func (e *e2e) get(url string, v any) string {
	e.t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			e.t.Fatalf("GET %s: %v", url, err)
		}
	}
	return string(b)
}

// scrape reads /metrics with the Prometheus text parser.
func (e *e2e) scrape() map[string]*dto.MetricFamily {
	e.t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(e.get(e.a.Mgmt+"/metrics", nil)))
	if err != nil {
		e.t.Fatalf("metrics are not Prometheus text: %v", err)
	}
	return fams
}

// value is the sum of a family's samples whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	sum := 0.0
	f := fams[name]
	if f == nil {
		return 0
	}
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		ok := true
		for i := 0; i+1 < len(want); i += 2 {
			ok = ok && labels[want[i]] == want[i+1]
		}
		switch {
		case !ok:
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// eventually polls cond for up to limit.
func eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type statusBody struct {
	Devices struct {
		Printer struct{ State string }
	}
	Queue struct {
		Pending, Rejected int
		CentralLastError  string `json:"central_last_error"`
	}
	SLABreached int `json:"sla_breached"`
	Page        struct {
		Connected bool
		Since     time.Time
	}
}

func (e *e2e) status() statusBody {
	var st statusBody
	e.get(e.a.Mgmt+"/v1/status", &st)
	return st
}

func (e *e2e) simEnqueue(kind string) {
	e.t.Helper()
	e.post("/v1/sim/operations", []byte(fmt.Sprintf(`{"kind":%q,"subject":{"id_number":%q,"name":%q}}`, kind, ssID, ssName)), http.StatusCreated)
}

func TestMetricsMoveWithRealOperations(t *testing.T) {
	e := runDaemon(t)
	before := e.scrape()
	for range 3 {
		e.simEnqueue("suspend_settlement")
	}
	eventually(t, 10*time.Second, "three acknowledgements", func() bool {
		m := e.scrape()
		return value(m, "kioskd_delivery_results_total", "result", "acknowledged") == 3 && value(m, "kioskd_outbox_operations", "state", "acknowledged_retained") == 3
	})
	after := e.scrape()
	if got := value(after, "kioskd_operations_enqueued_total", "kind", "suspend_settlement") - value(before, "kioskd_operations_enqueued_total", "kind", "suspend_settlement"); got != 3 {
		t.Errorf("enqueued counter moved by %v, want 3", got)
	}
	if got := value(after, "kioskd_outbox_operations", "state", "pending"); got != 0 || after["kioskd_outbox_operations"] == nil {
		t.Errorf("kioskd_outbox_operations{state=pending} = %v", got)
	}
	if ack := value(after, "kioskd_last_ack_timestamp_seconds"); time.Since(time.Unix(int64(ack), 0)) > time.Minute {
		t.Errorf("kioskd_last_ack_timestamp_seconds = %v, not the acknowledgements just seen", ack)
	}
	if got := value(after, "kioskd_delivery_latency_seconds"); got != 3 {
		t.Errorf("delivery latency histogram has %v samples, want 3", got)
	}
	for _, name := range []string{"kioskd_reader_up", "kioskd_printer_state", "kioskd_receipts_total", "kioskd_sla_breached_operations", "kioskd_ws_pages", "kioskd_page_connected", "kioskd_heartbeats_total",
		"kioskd_outbox_oldest_pending_age_seconds", "kioskd_disk_free_bytes", "kioskd_disk_size_bytes", "kioskd_clock_seconds"} {
		if after[name] == nil {
			t.Errorf("metric %s missing", name)
		}
	}
}

func TestStatusShowsPaperOutWithinTwoSeconds(t *testing.T) {
	e := runDaemon(t)
	eventually(t, 5*time.Second, "printer ok", func() bool { return e.status().Devices.Printer.State == "ok" })
	e.post("/v1/sim/printer/paper_out", nil, http.StatusNoContent)
	eventually(t, 2*time.Second, "status says paper_out", func() bool { return e.status().Devices.Printer.State == "paper_out" })
	if v := value(e.scrape(), "kioskd_printer_state", "state", "paper_out"); v != 1 {
		t.Errorf("kioskd_printer_state{state=paper_out} = %v", v)
	}
}

func TestSLABreachIsRaised(t *testing.T) {
	e := runDaemon(t, func(c *config.Config) {
		c.Central.URL = "http://127.0.0.1:1" // central unreachable
		c.SLA.Duration = 300 * time.Millisecond
	})
	e.simEnqueue("report_loss")
	e.simEnqueue("report_loss")
	eventually(t, 5*time.Second, "sla_breached = 2", func() bool { return e.status().SLABreached == 2 })
	m := e.scrape()
	if v := value(m, "kioskd_sla_breached_operations"); v != 2 {
		t.Errorf("kioskd_sla_breached_operations = %v, want 2", v)
	}
	if v := value(m, "kioskd_outbox_oldest_pending_age_seconds"); v < 0.3 {
		t.Errorf("kioskd_outbox_oldest_pending_age_seconds = %v, want at least the SLA of 0.3 s", v)
	}
}

func TestHeartbeatsReachCentral(t *testing.T) {
	e := runDaemon(t, func(c *config.Config) { c.Central.HeartbeatInterval.Duration = time.Second })
	eventually(t, 5*time.Second, "two heartbeats at central-sim", func() bool {
		var hb []map[string]any
		e.get(e.a.Central+"/_sim/heartbeats", &hb)
		return len(hb) >= 2
	})
}

func TestNonLoopbackManagementNeedsToken(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pki := rig.PKI(t)
	e := runDaemon(t, func(c *config.Config) {
		// Off loopback, a token travels over TLS only.
		c.Mgmt.Listen = "0.0.0.0:0"
		c.Mgmt.TokenFile = token
		c.Mgmt.TLSCert, c.Mgmt.TLSKey = pki.ServerCert, pki.ServerKey
	})
	url := loopbackURL(t, e.a.Mgmt)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.CAPool}}}
	for _, tc := range []struct {
		path, token string
		want        int
	}{{"/healthz", "", 200}, {"/v1/status", "", 401}, {"/metrics", "", 401}, {"/v1/sim/printer/ok", "", 401}, {"/v1/status", "wrong", 401}, {"/v1/status", "t0ken", 200}} {
		method := http.MethodGet
		if strings.HasPrefix(tc.path, "/v1/sim/") {
			method = http.MethodPost
		}
		req, _ := http.NewRequest(method, url+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s with token %q: %d, want %d", method, tc.path, tc.token, resp.StatusCode, tc.want)
		}
	}
}

// TestExposedListenersRefuseToStart: the daemon itself (not only
// check-config) refuses a UI off loopback without ui.allowed_origins, a
// token in clear on the network, a client CA without TLS, and a token file
// that is missing or empty, naming the key.
func TestExposedListenersRefuseToStart(t *testing.T) {
	dir := t.TempDir()
	token, empty := filepath.Join(dir, "token"), filepath.Join(dir, "empty")
	os.WriteFile(token, []byte("t0ken"), 0o600)
	os.WriteFile(empty, nil, 0o600)
	for _, tc := range []struct {
		key string
		mod func(c *config.Config)
	}{
		{"ui.listen", func(c *config.Config) { c.UI.Listen = "0.0.0.0:0" }},
		{"mgmt.token_file", func(c *config.Config) { c.Mgmt.Listen, c.Mgmt.TokenFile = "0.0.0.0:0", token }},
		{"mgmt.client_ca", func(c *config.Config) { c.Mgmt.Listen, c.Mgmt.ClientCA = "0.0.0.0:0", token }},
		{"mgmt.token_file", func(c *config.Config) { c.Mgmt.TokenFile = empty }},
		{"mgmt.token_file", func(c *config.Config) { c.Mgmt.TokenFile = filepath.Join(dir, "missing") }},
	} {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.UI.Listen, cfg.Mgmt.Listen = "127.0.0.1:0", "127.0.0.1:0"
		tc.mod(&cfg)
		d, err := Open(cfg, slog.New(slog.DiscardHandler))
		if err == nil {
			d.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("open with %s wrong: %v", tc.key, err)
		}
	}
}

func TestNonLoopbackManagementWithoutAuthRefusesToStart(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.UI.Listen, cfg.Mgmt.Listen = "127.0.0.1:0", "0.0.0.0:0"
	_, err := Open(cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "token_file") {
		t.Fatalf("open with an open non-loopback management API: %v", err)
	}
}

// TestNothingPersonalReachesOpsOrTechnicians walks citizens through a
// report and a suspension with a wrong PIN, and a technician through the
// maintenance menu, then collects everything ops and technicians can see
// (logs, metrics, status, heartbeats, audit log) and looks for the test
// subjects' names, ID numbers and card numbers.
func TestNothingPersonalReachesOpsOrTechnicians(t *testing.T) {
	e := startDaemon(t, withTechnician(t), func(c *config.Config) {
		c.Central.URL = config.Embedded
		c.Central.HeartbeatInterval.Duration = time.Second
	})
	e.reportVN()
	e.remove(hwbridge.SlotID)
	e.Cancel()
	e.Expect("idle")

	e.Confirm()
	e.Expect("menu")
	e.Start("suspend_settlement")
	e.Expect("identify", "slot", "ss")
	e.insertHTTP("ss", "ss_zhangsan.json")
	e.Expect("keypad", "field", "pin")
	e.Input("pin", "999999")
	e.Expect("keypad", "field", "pin", "tries_left", "2")
	e.remove("ss")
	e.Expect("idle")

	e.techLogin()
	e.Cancel()
	e.Expect("idle")
	eventually(t, 10*time.Second, "the report reaches central and a heartbeat follows", func() bool {
		var hb []map[string]any
		e.get(e.a.Central+"/_sim/heartbeats", &hb)
		return e.status().Queue.Pending == 0 && len(hb) >= 2
	})

	assertNoPersonalData(t, "metrics", e.get(e.a.Mgmt+"/metrics", nil))
	assertNoPersonalData(t, "status", e.get(e.a.Mgmt+"/v1/status", nil))
	assertNoPersonalData(t, "heartbeats at central", e.get(e.a.Central+"/_sim/heartbeats", nil))
	audit, err := e.d.store.AuditLog(1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) == 0 {
		t.Error("the technician's actions left no audit entries")
	}
	assertNoPersonalData(t, "audit log", audit)
	logs := e.logs.String()
	if !strings.Contains(logs, "voucher=") {
		t.Error("the logs never name a voucher: are they being collected?")
	}
	assertNoPersonalData(t, "logs", logs) // also checked for every test at cleanup
}

func TestNonLoopbackManagementAcceptsClientCertificates(t *testing.T) {
	pki := rig.PKI(t)
	e := runDaemon(t, func(c *config.Config) {
		c.Mgmt.Listen = "0.0.0.0:0"
		c.Mgmt.TLSCert, c.Mgmt.TLSKey, c.Mgmt.ClientCA = pki.ServerCert, pki.ServerKey, pki.CAFile
	})
	url := loopbackURL(t, e.a.Mgmt)
	if !strings.HasPrefix(url, "https://") {
		t.Fatalf("management URL %s is not https", url)
	}
	client := func(certFile, keyFile string) *http.Client {
		tc := &tls.Config{RootCAs: pki.CAPool}
		if certFile != "" {
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: tc}}
	}
	get := func(c *http.Client, path string) (int, error) {
		resp, err := c.Get(url + path)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get(client(pki.ClientCert, pki.ClientKey), "/v1/status"); err != nil || code != 200 {
		t.Errorf("with the fleet's client certificate: %d %v, want 200", code, err)
	}
	if code, err := get(client("", ""), "/v1/status"); err != nil || code != 401 {
		t.Errorf("without a certificate: %d %v, want 401", code, err)
	}
	if code, err := get(client("", ""), "/healthz"); err != nil || code != 200 {
		t.Errorf("healthz without a certificate: %d %v, want 200", code, err)
	}
	if code, err := get(client(pki.StrangerCert, pki.StrangerKey), "/v1/status"); err == nil && code == 200 {
		t.Error("a certificate from another CA was accepted")
	}
}

// loopbackURL is the URL of a listener on every address, reached over
// 127.0.0.1.
func loopbackURL(t *testing.T, listen string) string {
	t.Helper()
	u, err := neturl.Parse(listen)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = "127.0.0.1:" + u.Port()
	return u.String()
}

func TestBuildInfoAndPageConnected(t *testing.T) {
	e := runDaemon(t, func(c *config.Config) { c.Site = "HOSP-7" })
	m := e.scrape()
	if v := value(m, "kioskd_terminal_info", "site", "HOSP-7", "kiosk_id", e.d.cfg.KioskID); v != 1 {
		t.Errorf("kioskd_terminal_info{site=HOSP-7} = %v, want 1", v)
	}
	if v := value(m, "kioskd_build_info", "version", kiosk.Version, "commit", kiosk.Commit, "go_version", runtime.Version()); v != 1 {
		t.Errorf("kioskd_build_info{version=%q,commit=%q} = %v, want 1", kiosk.Version, kiosk.Commit, v)
	}
	if v := value(m, "kioskd_page_connected"); v != 0 || m["kioskd_page_connected"] == nil {
		t.Errorf("kioskd_page_connected before any page = %v, want a 0 sample", v)
	}
	if m["kioskd_page_connected_since_timestamp_seconds"] != nil {
		t.Error("kioskd_page_connected_since_timestamp_seconds present while no page is connected")
	}
	if st := e.status(); st.Page.Connected || st.Page.Since.IsZero() {
		t.Errorf("/v1/status page before any page = %+v, want not connected since the start", st.Page)
	}
	before := time.Now()
	e.connect()
	eventually(t, 5*time.Second, "kioskd_page_connected 1", func() bool { return value(e.scrape(), "kioskd_page_connected") == 1 })
	since := value(e.scrape(), "kioskd_page_connected_since_timestamp_seconds")
	if since < float64(before.Unix()) || since > float64(time.Now().Unix()+1) {
		t.Errorf("kioskd_page_connected_since_timestamp_seconds = %v, want the connection's time, after %v", since, before.Unix())
	}
	if st := e.status(); !st.Page.Connected || st.Page.Since.Before(before.Add(-time.Second)) {
		t.Errorf("/v1/status page with a page connected = %+v, want connected since after %v", st.Page, before)
	}
	e.Page.Conn.Close()
	eventually(t, 5*time.Second, "kioskd_page_connected back to 0", func() bool { return value(e.scrape(), "kioskd_page_connected") == 0 })
	eventually(t, 5*time.Second, "/v1/status page missing", func() bool { return !e.status().Page.Connected })
}

// A store that fails leaves its series out of the scrape, and
// kioskd_store_up says why; nothing reads as a reassuring 0.
func TestStoreFailureDropsOutboxSeries(t *testing.T) {
	e := runDaemon(t)
	e.simEnqueue("report_loss")
	m := e.scrape()
	if value(m, "kioskd_store_up") != 1 || m["kioskd_outbox_operations"] == nil {
		t.Fatalf("healthy store: kioskd_store_up = %v, outbox series present = %v", value(m, "kioskd_store_up"), m["kioskd_outbox_operations"] != nil)
	}
	if err := e.d.store.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "kioskd_store_up 0", func() bool {
		m := e.scrape()
		return m["kioskd_store_up"] != nil && value(m, "kioskd_store_up") == 0
	})
	m = e.scrape()
	for _, name := range []string{"kioskd_outbox_operations", "kioskd_outbox_oldest_pending_age_seconds", "kioskd_last_ack_timestamp_seconds", "kioskd_sla_breached_operations"} {
		if m[name] != nil {
			t.Errorf("%s is still in the scrape after the store failed: %v", name, m[name])
		}
	}
}

// TestSimControlRefusesWebPages: what a web page in the terminal's browser
// can send without a preflight (a text/plain or form POST) or with its
// Origin changes nothing; the same request as JSON without an Origin does.
func TestSimControlRefusesWebPages(t *testing.T) {
	e := runDaemon(t)
	op := []byte(`{"kind":"report_loss","subject":{"id_number":"` + ssID + `","name":"` + ssName + `"}}`)
	card, err := os.ReadFile(filepath.Join("..", "..", "hwbridge", "sim", "cardsim", "testdata", "ss_zhangsan.json"))
	if err != nil {
		t.Fatal(err)
	}
	stored := func() int {
		st, err := e.d.store.Stats()
		if err != nil {
			t.Fatal(err)
		}
		return st.Pending + st.Acknowledged + st.Rejected
	}
	ssCard := func() bool {
		for _, r := range e.d.dev.sim.Readers() {
			if r.Slot == hwbridge.SlotSS {
				return r.Card
			}
		}
		return false
	}
	send := func(path, ctype, origin string, body []byte) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, e.a.Mgmt+path, bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		path, ctype, origin string
		body                []byte
		want                int
	}{
		{"/v1/sim/operations", "text/plain", "", op, 415},
		{"/v1/sim/operations", "text/plain;charset=UTF-8", "http://evil.example", op, 403},
		{"/v1/sim/operations", "application/x-www-form-urlencoded", "", op, 415},
		{"/v1/sim/operations", "", "", op, 415},
		{"/v1/sim/operations", "application/json", "http://evil.example", op, 403},
		{"/v1/sim/operations", "application/json", "null", op, 403},
		{"/v1/sim/reader/ss/insert", "text/plain", "", card, 415},
		{"/v1/sim/reader/ss/insert", "multipart/form-data; boundary=x", "", card, 415},
		{"/v1/sim/printer/paper_out", "", "http://evil.example", nil, 403},
	} {
		if got := send(tc.path, tc.ctype, tc.origin, tc.body); got != tc.want {
			t.Errorf("POST %s as %q from %q: %d, want %d", tc.path, tc.ctype, tc.origin, got, tc.want)
		}
	}
	if n := stored(); n != 0 {
		t.Errorf("%d operations filed by refused requests", n)
	}
	if ssCard() {
		t.Error("a refused request inserted a card")
	}
	if got := e.d.dev.vprint.State(); got != vprinter.StateOK {
		t.Errorf("a refused request set the printer to %v", got)
	}
	// The same requests as a script or test sends them are taken.
	if got := send("/v1/sim/operations", "application/json; charset=utf-8", "", op); got != 201 || stored() != 1 {
		t.Errorf("JSON operation: %d, %d stored, want 201 and 1", got, stored())
	}
	if got := send("/v1/sim/reader/ss/insert", "application/json", "", card); got != 204 || !ssCard() {
		t.Errorf("JSON card insert: %d, card present %v, want 204 and a card", got, ssCard())
	}
	if got := send("/v1/sim/reader/ss/remove", "", "", nil); got != 204 {
		t.Errorf("remove without a body: %d, want 204", got)
	}
}

// TestListenerLimits: the page server and the management API refuse an
// unterminated 1 MB header, and serve at most netlimit.Default.MaxConns
// connections at once; the next waits until one closes. (The timeouts
// are tested with short values in kiosk/netlimit.)
func TestListenerLimits(t *testing.T) {
	e := runDaemon(t)
	for _, srv := range []struct{ name, url string }{{"page server", e.a.UI}, {"management API", e.a.Mgmt}, {"embedded central", e.a.Central}} {
		addr := strings.TrimPrefix(srv.url, "http://")
		if code := hugeHeader(t, addr); code != http.StatusRequestHeaderFieldsTooLarge && code != 0 {
			t.Errorf("%s: 1 MB header answered %d, want 431 or a close", srv.name, code)
		}
		if srv.name == "embedded central" {
			continue // netlimit.Simulator.s 8192 connections are not worth opening here
		}
		var held []net.Conn
		for range netlimit.Default.MaxConns {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			held = append(held, c)
		}
		extra, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer extra.Close()
		fmt.Fprint(extra, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(extra)
		extra.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := br.ReadByte(); err == nil {
			t.Errorf("%s: connection %d served while %d were open", srv.name, len(held)+1, len(held))
		}
		for _, c := range held {
			c.Close()
		}
		extra.SetReadDeadline(time.Now().Add(10 * time.Second))
		if resp, err := http.ReadResponse(br, nil); err != nil {
			t.Errorf("%s: the waiting connection after the others closed: %v", srv.name, err)
		} else {
			resp.Body.Close()
		}
	}
	// The page still connects and is served.
	e.connect()
	e.Expect("idle")
}

// hugeHeader sends an unterminated 1 MiB header to addr and returns the
// status of the answer, or 0 when the server closed without one. It fails
// the test when neither comes within 10 s.
func hugeHeader(t *testing.T, addr string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
		chunk := strings.Repeat("a", 64<<10)
		for range 16 {
			if _, err := io.WriteString(c, chunk); err != nil {
				return
			}
		}
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s: no answer and no close 10 s into an unterminated 1 MB header", addr)
		}
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
