package central

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kioskd/kioskd/kiosk/netlimit"
	"github.com/kioskd/kioskd/kiosk/op"
)

// SimOTP is the one-time code the simulator accepts for every person. It
// "texts" no phone; GET /_sim/otp shows it with the number of requests.
const SimOTP = "246810"

// SimConfig sets the simulator's faults. Rates are probabilities in [0, 1].
type SimConfig struct {
	// Latency is added before every /v1 answer (honouring the request's
	// context).
	Latency time.Duration
	// FailRate is the share of /v1 requests answered 503.
	FailRate float64
	// DropRate is the share of operation submissions whose answer is lost:
	// the operation is applied (once), then the connection is closed
	// without an answer (the client sees EOF or a reset).
	DropRate float64
	// DuplicateRate is the share of repeated operations answered 409
	// {code:"duplicate", central_ref} instead of the first answer again.
	DuplicateRate float64
	// Outage closes the connection of every /v1 request without an answer.
	Outage bool
	// Seed makes the fault choices repeatable (0: a fixed default seed).
	Seed int64
}

// AppliedOp is what the simulator applied for one idempotency key.
type AppliedOp struct {
	Key     string `json:"idempotency_key"`
	Voucher string `json:"voucher"`
	Kind    string `json:"kind"`
	// Count is how many times the operation was really applied: the test
	// oracle for "exactly once" (it must never exceed 1).
	Count int `json:"count"`
	// Order is the position in which it was first applied, from 1.
	Order int `json:"order"`
	// SubjectSHA256 is the hex SHA-256 of the subject's canonical JSON
	// (SubjectDigest): a test maps each applied operation to the request
	// it made by it, and the simulator keeps no personal data.
	SubjectSHA256 string `json:"subject_sha256"`
	// Submissions counts every POST /v1/operations with this key, the
	// first included: each one past the first is a duplicate submission.
	Submissions int `json:"submissions"`
	// Conflicts counts the duplicate submissions whose voucher, kind or
	// subject differ from the first: a kiosk that reuses a key for another
	// operation. It must stay 0.
	Conflicts int `json:"conflicts"`
}

// SubjectDigest is the hex SHA-256 of a subject in canonical JSON (object
// keys sorted, no insignificant space), the form AppliedOp.SubjectSHA256
// records. A subject that is not JSON is hashed as it is.
func SubjectDigest(subject json.RawMessage) string {
	b := []byte(subject)
	dec := json.NewDecoder(bytes.NewReader(subject))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) == nil {
		if c, err := json.Marshal(v); err == nil {
			b = c
		}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Heartbeat is one heartbeat the simulator received.
type Heartbeat struct {
	KioskID string          `json:"kiosk_id"`
	Status  json.RawMessage `json:"status"`
	At      time.Time       `json:"at"`
}

// simOp is an applied operation. It keeps no personal data.
type simOp struct {
	AppliedOp
	kioskID   string
	ref       string
	state     string
	appliedAt time.Time
}

// Sim is an in-memory central system implementing the central API of
// API.md with fault injection. It is an http.Handler and safe for
// concurrent use. Control endpoints (never faulted):
//
//	GET/PUT /_sim/faults   {latency_ms, fail_rate, drop_rate, duplicate_rate, outage}
//	GET /_sim/operations   [{idempotency_key, voucher, kind, count, order,
//	                         subject_sha256, submissions, conflicts}]
//	GET /_sim/heartbeats   [{kiosk_id, status, at}]
//	GET /_sim/otp          {code, requests}
//	GET /_sim/fleet        {terminals: [{kiosk_id, heartbeats, last_heartbeat_age_s}],
//	                        requests_total, requests_per_second: [{t, n}]}
//
// GET /_sim/fleet is the fleet view: every terminal that sent a heartbeat,
// and the /v1 requests received per second (every request that reached
// the simulator, including those an outage cut) over the last 10 minutes.
//
// Person cards are derived from the ID number: one card "A" + 8 digits,
// "active" until an applied operation names it in card.card_number, then
// in central's word for what the operation did (op.Kind.CentralCardState:
// report_loss → "loss_reported", suspend_settlement → "suspended",
// resume_settlement → "active"); an ID number ending in "0000" has no card.
// The OTP is SimOTP for everyone.
type Sim struct {
	mux *http.ServeMux

	mu         sync.Mutex
	cfg        SimConfig
	rng        *rand.Rand
	ops        map[string]*simOp
	byVoucher  map[string]*simOp
	applied    int
	heartbeats []Heartbeat
	otpReqs    int
	// lastBeat is each kiosk's last heartbeat and how many it sent.
	lastBeat map[string]beatSeen
	// perSecond counts /v1 requests by Unix second (last rateWindow s).
	perSecond map[int64]int
	requests  int64
	// cardState is each card's settlement state after the operations
	// applied to it (key: card number, kept in memory only, never shown
	// by the control endpoints).
	cardState map[string]string
	fleet     *simFleet // terminal keys and audit heads (keys.go)
}

// maxSimBody bounds a request body the simulator reads.
const maxSimBody = 1 << 20

// maxHeartbeats bounds the heartbeats kept (oldest dropped).
const maxHeartbeats = 10000

// NewSim returns a simulator with the given faults.
func NewSim(cfg SimConfig) *Sim {
	s := &Sim{
		ops:       map[string]*simOp{},
		byVoucher: map[string]*simOp{},
		cardState: map[string]string{},
		fleet:     newSimFleet(),
		lastBeat:  map[string]beatSeen{},
		perSecond: map[int64]int{},
	}
	s.setFaultsLocked(cfg)
	m := http.NewServeMux()
	m.HandleFunc("POST /v1/operations", s.faulted(s.postOperation))
	m.HandleFunc("GET /v1/operations/{key}", s.faulted(s.getOperation))
	m.HandleFunc("GET /v1/vouchers/{voucher}", s.faulted(s.getVoucher))
	m.HandleFunc("POST /v1/persons/cards", s.faulted(s.personCards))
	m.HandleFunc("POST /v1/otp", s.faulted(s.requestOTP))
	m.HandleFunc("POST /v1/otp/verify", s.faulted(s.verifyOTP))
	m.HandleFunc("POST /v1/kiosks/{kiosk}/heartbeat", s.faulted(s.heartbeat))
	m.HandleFunc("PUT /v1/kiosks/{kiosk}/keys/{key}", s.faulted(s.putKey))
	m.HandleFunc("GET /v1/kiosks/{kiosk}/keys", s.faulted(s.getKeys))
	m.HandleFunc("GET /v1/keys", s.faulted(s.getKeys))
	m.HandleFunc("GET /v1/kiosks/{kiosk}/audit-heads", s.faulted(s.getAuditHeads))
	m.HandleFunc("/v1/", s.faulted(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, errorBody{Code: "not_found", Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
	}))
	m.HandleFunc("GET /_sim/faults", s.getFaults)
	m.HandleFunc("PUT /_sim/faults", s.putFaults)
	m.HandleFunc("GET /_sim/operations", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Applied()) })
	m.HandleFunc("GET /_sim/heartbeats", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Heartbeats()) })
	m.HandleFunc("GET /_sim/fleet", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, s.Fleet()) })
	m.HandleFunc("GET /_sim/otp", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		n := s.otpReqs
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"code": SimOTP, "requests": n})
	})
	s.mux = m
	return s
}

func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// SetFaults replaces the fault settings (and reseeds when Seed changes).
func (s *Sim) SetFaults(cfg SimConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setFaultsLocked(cfg)
}

func (s *Sim) setFaultsLocked(cfg SimConfig) {
	if s.rng == nil || cfg.Seed != s.cfg.Seed {
		seed := uint64(cfg.Seed)
		if seed == 0 {
			seed = 0x6b696f736b64 // "kioskd"
		}
		s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	s.cfg = cfg
}

// Faults returns the current fault settings.
func (s *Sim) Faults() SimConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg
}

// Applied returns every applied operation in the order applied.
func (s *Sim) Applied() []AppliedOp {
	s.mu.Lock()
	out := make([]AppliedOp, 0, len(s.ops))
	for _, o := range s.ops {
		out = append(out, o.AppliedOp)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b AppliedOp) int { return a.Order - b.Order })
	return out
}

// Heartbeats returns the heartbeats received, oldest first.
func (s *Sim) Heartbeats() []Heartbeat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.heartbeats)
}

// chance draws one fault decision.
func (s *Sim) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	return s.rng.Float64() < p
}

// faulted wraps a /v1 handler with latency, outage and error-rate faults.
func (s *Sim) faulted(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		cfg := s.cfg
		fail := s.chance(cfg.FailRate)
		s.countRequestLocked(time.Now())
		s.mu.Unlock()
		if cfg.Latency > 0 {
			// Read the body first: only then does net/http notice a client
			// that hangs up, and cancel the request's context.
			b, err := io.ReadAll(io.LimitReader(r.Body, maxSimBody+1))
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(b))
			t := time.NewTimer(cfg.Latency)
			select {
			case <-r.Context().Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if cfg.Outage {
			dropConnection(w)
			return
		}
		if fail {
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Code: "unavailable", Message: "simulated failure"})
			return
		}
		h(w, r)
	}
}

// dropConnection closes the connection without an answer.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, as a crashed peer sends
			}
			conn.Close()
			return
		}
	}
	// HTTP/2 or a recorder: abort the response without an answer.
	panic(http.ErrAbortHandler)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"code":"internal","message":"encode answer"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func invalid(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, errorBody{Code: "invalid", Message: msg})
}

// readBody decodes a JSON object body into v; false when it answered 400.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxSimBody+1))
	if err != nil {
		invalid(w, "read body: "+err.Error())
		return false
	}
	if len(b) > maxSimBody {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Code: "too_large", Message: fmt.Sprintf("body over %d bytes", maxSimBody)})
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		invalid(w, "body is not the expected JSON object: "+err.Error())
		return false
	}
	return true
}

// isObject reports whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

func (s *Sim) postOperation(w http.ResponseWriter, r *http.Request) {
	var req operationBody
	if !readBody(w, r, &req) {
		return
	}
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"idempotency_key", req.IdempotencyKey != ""},
		{"kiosk_id", req.KioskID != ""},
		{"kind", req.Kind != ""},
		{"created_at", !req.CreatedAt.IsZero()},
		{"subject", isObject(req.Subject)},
	} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		invalid(w, "missing or invalid: "+strings.Join(missing, ", "))
		return
	}
	if len(req.IdempotencyKey) > 128 || len(req.Voucher) > 64 {
		invalid(w, "idempotency_key or voucher too long")
		return
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{{"card", req.Card}, {"agent", req.Agent}, {"evidence", req.Evidence}} {
		if len(f.raw) > 0 && !isObject(f.raw) && string(bytes.TrimSpace(f.raw)) != "null" {
			invalid(w, f.name+" must be a JSON object")
			return
		}
	}
	if !op.Kind(req.Kind).Valid() {
		writeJSON(w, http.StatusUnprocessableEntity, errorBody{Code: "unknown_kind", Message: fmt.Sprintf("unknown kind %q", req.Kind)})
		return
	}

	digest := SubjectDigest(req.Subject)
	s.mu.Lock()
	if prev, ok := s.ops[req.IdempotencyKey]; ok {
		prev.Submissions++
		if prev.Voucher != req.Voucher || prev.Kind != req.Kind || prev.SubjectSHA256 != digest {
			prev.Conflicts++
		}
		dup := s.chance(s.cfg.DuplicateRate)
		drop := s.chance(s.cfg.DropRate)
		ack := ackBody{CentralRef: prev.ref, State: prev.state}
		s.mu.Unlock()
		if drop {
			dropConnection(w)
			return
		}
		if dup {
			writeJSON(w, http.StatusConflict, errorBody{Code: "duplicate", Message: "operation already applied", CentralRef: ack.CentralRef, State: ack.State})
			return
		}
		writeJSON(w, http.StatusOK, ack)
		return
	}
	s.applied++
	o := &simOp{
		AppliedOp: AppliedOp{Key: req.IdempotencyKey, Voucher: req.Voucher, Kind: req.Kind, Count: 1, Order: s.applied,
			SubjectSHA256: digest, Submissions: 1},
		kioskID:   req.KioskID,
		ref:       fmt.Sprintf("C%010d", s.applied),
		state:     "accepted",
		appliedAt: time.Now().UTC(),
	}
	s.ops[o.Key] = o
	if o.Voucher != "" {
		s.byVoucher[o.Voucher] = o
	}
	var card struct {
		Number string `json:"card_number"`
	}
	if json.Unmarshal(req.Card, &card) == nil && card.Number != "" {
		s.cardState[card.Number] = op.Kind(req.Kind).CentralCardState()
	}
	drop := s.chance(s.cfg.DropRate)
	ack := ackBody{CentralRef: o.ref, State: o.state}
	s.mu.Unlock()
	if drop {
		dropConnection(w)
		return
	}
	writeJSON(w, http.StatusCreated, ack)
}

func (s *Sim) getOperation(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	s.mu.Lock()
	o, ok := s.ops[key]
	var body map[string]string
	if ok {
		body = map[string]string{"idempotency_key": o.Key, "voucher": o.Voucher, "kind": o.Kind, "central_ref": o.ref, "state": o.state}
	}
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, errorBody{Code: "not_found", Message: "no operation with this idempotency key"})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Sim) getVoucher(w http.ResponseWriter, r *http.Request) {
	v := r.PathValue("voucher")
	s.mu.Lock()
	o, ok := s.byVoucher[v]
	var body VoucherState
	var opKiosk string
	if ok {
		opKiosk = o.kioskID
		body = VoucherState{Voucher: o.Voucher, Kind: o.Kind, State: o.state, CentralRef: o.ref, AppliedAt: o.appliedAt}
	}
	s.mu.Unlock()
	if tok := r.URL.Query().Get("token"); tok != "" {
		// A scanned receipt: the answer also says whether its token
		// proves itself (keys.go).
		verdict := s.tokenVerdict(v, opKiosk, tok)
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"code": "not_found", "message": "no operation with this voucher", "token": verdict})
			return
		}
		writeJSON(w, http.StatusOK, struct {
			VoucherState
			Token TokenVerdict `json:"token"`
		}{body, verdict})
		return
	}
	if !ok {
		writeJSON(w, http.StatusNotFound, errorBody{Code: "not_found", Message: "no operation with this voucher"})
		return
	}
	writeJSON(w, http.StatusOK, body)
}

type idBody struct {
	IDNumber string `json:"id_number"`
	Code     string `json:"code"`
}

func (s *Sim) personCards(w http.ResponseWriter, r *http.Request) {
	var b idBody
	if !readBody(w, r, &b) {
		return
	}
	if b.IDNumber == "" {
		invalid(w, "missing: id_number")
		return
	}
	cards := []PersonCard{}
	if !strings.HasSuffix(b.IDNumber, "0000") {
		num := SimCardNumber(b.IDNumber)
		s.mu.Lock()
		state, ok := s.cardState[num]
		s.mu.Unlock()
		if !ok {
			state = "active"
		}
		cards = append(cards, PersonCard{CardNumber: num, State: state})
	}
	writeJSON(w, http.StatusOK, cards)
}

// SimCardNumber is the card number the simulator gives the person with
// this ID number: "A" and 8 digits derived from it.
func SimCardNumber(idNumber string) string {
	h := fnv.New32a()
	h.Write([]byte(idNumber))
	return fmt.Sprintf("A%08d", h.Sum32()%100000000)
}

func (s *Sim) requestOTP(w http.ResponseWriter, r *http.Request) {
	var b idBody
	if !readBody(w, r, &b) {
		return
	}
	if b.IDNumber == "" {
		invalid(w, "missing: id_number")
		return
	}
	s.mu.Lock()
	s.otpReqs++
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
}

func (s *Sim) verifyOTP(w http.ResponseWriter, r *http.Request) {
	var b idBody
	if !readBody(w, r, &b) {
		return
	}
	if b.IDNumber == "" || b.Code == "" {
		invalid(w, "missing: id_number or code")
		return
	}
	if b.Code != SimOTP {
		writeJSON(w, http.StatusForbidden, errorBody{Code: "otp_mismatch", Message: "wrong or expired code"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"verified": true})
}

func (s *Sim) heartbeat(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if !readBody(w, r, &raw) {
		return
	}
	var b struct {
		Status json.RawMessage `json:"status"`
	}
	if err := json.Unmarshal(raw, &b); err != nil || len(b.Status) == 0 {
		invalid(w, "missing: status")
		return
	}
	if err := s.beatExtras(r.PathValue("kiosk"), raw); err != nil {
		invalid(w, err.Error())
		return
	}
	s.mu.Lock()
	if len(s.heartbeats) >= maxHeartbeats {
		// Drop the older half at once: a fleet beating at full rate must
		// not pay a copy of the whole list per heartbeat.
		s.heartbeats = slices.Delete(s.heartbeats, 0, maxHeartbeats/2)
	}
	now := time.Now().UTC()
	kiosk := r.PathValue("kiosk")
	s.heartbeats = append(s.heartbeats, Heartbeat{KioskID: kiosk, Status: b.Status, At: now})
	s.lastBeat[kiosk] = beatSeen{at: now, n: s.lastBeat[kiosk].n + 1}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// beatSeen is a kiosk's last heartbeat.
type beatSeen struct {
	at time.Time
	n  int
}

// rateWindow is how many seconds of request counts the fleet view keeps.
const rateWindow = 600

func (s *Sim) countRequestLocked(now time.Time) {
	sec := now.Unix()
	if _, ok := s.perSecond[sec]; !ok {
		for t := range s.perSecond {
			if t <= sec-rateWindow {
				delete(s.perSecond, t)
			}
		}
	}
	s.perSecond[sec]++
	s.requests++
}

// FleetTerminal is one terminal in the fleet view.
type FleetTerminal struct {
	KioskID    string  `json:"kiosk_id"`
	Heartbeats int     `json:"heartbeats"`
	LastAgeS   float64 `json:"last_heartbeat_age_s"`
}

// SecondCount is the number of /v1 requests received in one second.
type SecondCount struct {
	T int64 `json:"t"` // Unix second
	N int   `json:"n"`
}

// FleetView is GET /_sim/fleet.
type FleetView struct {
	Terminals      []FleetTerminal `json:"terminals"`
	RequestsTotal  int64           `json:"requests_total"`
	RequestsPerSec []SecondCount   `json:"requests_per_second"`
}

// Fleet returns the terminals seen (by kiosk id) and the request rate of
// the last 10 minutes, oldest second first; seconds with no request are
// listed with 0.
func (s *Sim) Fleet() FleetView {
	now := time.Now()
	s.mu.Lock()
	v := FleetView{Terminals: make([]FleetTerminal, 0, len(s.lastBeat)), RequestsTotal: s.requests}
	for k, b := range s.lastBeat {
		v.Terminals = append(v.Terminals, FleetTerminal{KioskID: k, Heartbeats: b.n, LastAgeS: now.Sub(b.at).Seconds()})
	}
	first := int64(0)
	for t := range s.perSecond {
		if first == 0 || t < first {
			first = t
		}
	}
	if first != 0 {
		for t := first; t <= now.Unix(); t++ {
			v.RequestsPerSec = append(v.RequestsPerSec, SecondCount{T: t, N: s.perSecond[t]})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(v.Terminals, func(a, b FleetTerminal) int { return strings.Compare(a.KioskID, b.KioskID) })
	return v
}

// faultsBody is the wire form of /_sim/faults.
type faultsBody struct {
	LatencyMS     int64   `json:"latency_ms"`
	FailRate      float64 `json:"fail_rate"`
	DropRate      float64 `json:"drop_rate"`
	DuplicateRate float64 `json:"duplicate_rate"`
	Outage        bool    `json:"outage"`
	Seed          int64   `json:"seed,omitempty"`
}

func (s *Sim) getFaults(w http.ResponseWriter, r *http.Request) {
	c := s.Faults()
	writeJSON(w, http.StatusOK, faultsBody{LatencyMS: c.Latency.Milliseconds(), FailRate: c.FailRate, DropRate: c.DropRate,
		DuplicateRate: c.DuplicateRate, Outage: c.Outage, Seed: c.Seed})
}

func (s *Sim) putFaults(w http.ResponseWriter, r *http.Request) {
	var b faultsBody
	if !readBody(w, r, &b) {
		return
	}
	cfg := SimConfig{Latency: time.Duration(b.LatencyMS) * time.Millisecond, FailRate: b.FailRate, DropRate: b.DropRate,
		DuplicateRate: b.DuplicateRate, Outage: b.Outage, Seed: b.Seed}
	if b.Seed == 0 {
		cfg.Seed = s.Faults().Seed
	}
	if err := cfg.Validate(); err != nil {
		invalid(w, err.Error())
		return
	}
	s.SetFaults(cfg)
	s.getFaults(w, r)
}

// Validate reports every fault setting out of range.
func (c SimConfig) Validate() error {
	var errs []error
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v is negative", c.Latency))
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"fail_rate", c.FailRate}, {"drop_rate", c.DropRate}, {"duplicate_rate", c.DuplicateRate}} {
		if !(f.v >= 0 && f.v <= 1) {
			errs = append(errs, fmt.Errorf("%s %v is not in [0, 1]", f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

// SimTLSConfig builds the simulator's server TLS config from PEM files.
// With clientCAFile set, clients must present a certificate signed by one
// of its CAs (mTLS). Errors name the file that is wrong.
func SimTLSConfig(certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	if certFile == "" || keyFile == "" {
		return nil, fmt.Errorf("central-sim TLS needs both a certificate file and a key file (cert %q, key %q)", certFile, keyFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("central-sim TLS certificate %q / key %q: %w", certFile, keyFile, err)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
	if clientCAFile != "" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("central-sim client CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("central-sim client CA file %q holds no PEM certificate", clientCAFile)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// ListenAndServeSim serves a new Sim with cfg on addr (TLS when tlsCfg is
// set) until ctx is done, then shuts down gracefully and returns nil.
// ready, when set, is called once with the base URL (the real port when
// addr ends in ":0") as soon as the listener accepts connections.
func ListenAndServeSim(ctx context.Context, addr string, cfg SimConfig, tlsCfg *tls.Config, ready func(url string)) error {
	return ServeSim(ctx, NewSim(cfg), addr, tlsCfg, ready)
}

// ServeSim is ListenAndServeSim for an existing Sim (so the caller can
// change its faults and read its record while it serves).
func ServeSim(ctx context.Context, sim *Sim, addr string, tlsCfg *tls.Config, ready func(url string)) error {
	if err := sim.Faults().Validate(); err != nil {
		return fmt.Errorf("central-sim: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("central-sim: listen on %s: %w", addr, err)
	}
	ln = netlimit.Simulator.Listener(ln)
	scheme := "http"
	if tlsCfg != nil {
		tc := tlsCfg.Clone()
		// HTTP/1.1 only: dropped answers hijack the connection.
		tc.NextProtos = []string{"http/1.1"}
		ln = tls.NewListener(ln, tc)
		scheme = "https"
	}
	srv := netlimit.Simulator.Server(sim)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		ready(scheme + "://" + ln.Addr().String())
	}
	select {
	case err := <-errc:
		return fmt.Errorf("central-sim: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	<-errc
	if err != nil {
		srv.Close()
		return fmt.Errorf("central-sim: shutdown: %w", err)
	}
	return nil
}
