package central

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/kioskd/kioskd/kiosk/vouchertoken"
)

// This file holds the central API of signed vouchers and the audit chain
// (kiosk/central/API.md): terminal public keys, the audit chain heads
// terminals report, and the simulator's side of both.

// AuditHead is a terminal's audit chain head: the chain's length and the
// hash of its last entry, and when central saw it.
type AuditHead struct {
	Length uint64    `json:"length"`
	Head   string    `json:"head"`
	At     time.Time `json:"at,omitzero"`
}

// Beat is what a heartbeat carries besides the status: the terminal's
// public signing keys and its audit chain head.
type Beat struct {
	Status any                      `json:"status"`
	Keys   []vouchertoken.PublicKey `json:"signing_keys,omitempty"`
	Audit  *AuditHead               `json:"audit,omitempty"`
}

// HeartbeatWith sends a heartbeat with keys and the audit head.
func (c *Client) HeartbeatWith(ctx context.Context, kioskID string, b Beat) error {
	if kioskID == "" {
		return errors.New("central: heartbeat: empty kiosk id")
	}
	code, body, err := c.call(ctx, http.MethodPost, "/v1/kiosks/"+url.PathEscape(kioskID)+"/heartbeat", b, "")
	if err != nil {
		return err
	}
	return decodeNoContent(code, body)
}

// PutKey publishes one of the terminal's public keys (idempotent).
func (c *Client) PutKey(ctx context.Context, k vouchertoken.PublicKey) error {
	if err := k.Check(); err != nil {
		return fmt.Errorf("central: put key: %w", err)
	}
	code, body, err := c.call(ctx, http.MethodPut, "/v1/kiosks/"+url.PathEscape(k.KioskID)+"/keys/"+url.PathEscape(k.KeyID), k, "")
	if err != nil {
		return err
	}
	return decodeNoContent(code, body)
}

// FleetKeys returns the public keys of every terminal central knows
// (GET /v1/keys); KioskKeys those of one (GET /v1/kiosks/{kiosk_id}/keys).
// An unchanged answer returns the same slice as the last time: callers
// must not modify it.
func (c *Client) FleetKeys(ctx context.Context) (vouchertoken.Keys, error) {
	return c.keys(ctx, "/v1/keys")
}

// KioskKeys returns one terminal's public keys.
func (c *Client) KioskKeys(ctx context.Context, kioskID string) (vouchertoken.Keys, error) {
	return c.keys(ctx, "/v1/kiosks/"+url.PathEscape(kioskID)+"/keys")
}

// keysCache is the last answer to GET /v1/keys, by its hash, and its
// checked keys. A terminal fetches the fleet's keys after every heartbeat
// and they rarely change, while the answer grows with the fleet (about
// 140 bytes a terminal): the same bytes are not decoded and checked again.
type keysCache struct {
	mu   sync.Mutex
	sum  [sha256.Size]byte
	keys vouchertoken.Keys // shared with the callers, who only read it
}

func (c *Client) keys(ctx context.Context, path string) (vouchertoken.Keys, error) {
	code, body, err := c.call(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, decodeError(code, body)
	}
	fleet, sum := path == "/v1/keys", sha256.Sum256(body)
	if fleet {
		c.fleet.mu.Lock()
		keys, same := c.fleet.keys, c.fleet.keys != nil && c.fleet.sum == sum
		c.fleet.mu.Unlock()
		if same {
			return keys, nil
		}
	}
	var f vouchertoken.KeyFile
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, malformed(code, `body is not {"keys": [...]}`, err)
	}
	for i, k := range f.Keys {
		if err := k.Check(); err != nil {
			return nil, malformed(code, fmt.Sprintf("key %d: %v", i+1, err), nil)
		}
	}
	if fleet {
		c.fleet.mu.Lock()
		c.fleet.sum, c.fleet.keys = sum, f.Keys
		c.fleet.mu.Unlock()
	}
	return f.Keys, nil
}

// AuditHeads returns the audit chain heads central saw from a terminal,
// oldest first.
func (c *Client) AuditHeads(ctx context.Context, kioskID string) ([]AuditHead, error) {
	code, body, err := c.call(ctx, http.MethodGet, "/v1/kiosks/"+url.PathEscape(kioskID)+"/audit-heads", nil, "")
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, decodeError(code, body)
	}
	var b struct {
		Heads []AuditHead `json:"heads"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, malformed(code, `body is not {"heads": [...]}`, err)
	}
	return b.Heads, nil
}

// TokenVerdict is central's answer about a voucher token
// (GET /v1/vouchers/{voucher}?token=…).
type TokenVerdict struct {
	Valid bool   `json:"valid"`
	Error string `json:"error,omitempty"`
	// What the token says (set whenever it decodes).
	KioskID    string    `json:"kiosk_id,omitempty"`
	KeyID      string    `json:"key_id,omitempty"`
	Kind       string    `json:"kind,omitempty"`
	CreatedAt  time.Time `json:"created_at,omitzero"`
	Name       string    `json:"name,omitempty"`
	IDNumber   string    `json:"id_number,omitempty"`
	CardNumber string    `json:"card_number,omitempty"`
}

// simFleet is the simulator's record of terminal keys and audit heads.
type simFleet struct {
	mu    sync.Mutex
	keys  map[string]map[string]vouchertoken.PublicKey // kiosk → key id → key
	heads map[string][]AuditHead                       // kiosk → heads, oldest first
	// all is the encoded answer of GET /v1/keys, nil after a key is
	// added: a fleet asks for it after every heartbeat, and sorting and
	// encoding every key each time made the simulator the bottleneck of a
	// large fleet-sim.
	all []byte
}

// maxHeads bounds the heads kept per terminal (oldest dropped).
const maxHeads = 10000

func newSimFleet() *simFleet {
	return &simFleet{keys: map[string]map[string]vouchertoken.PublicKey{}, heads: map[string][]AuditHead{}}
}

// addKey stores k; a different public key under the same key id is a
// conflict.
func (f *simFleet) addKey(k vouchertoken.PublicKey) (created bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m := f.keys[k.KioskID]
	if m == nil {
		m = map[string]vouchertoken.PublicKey{}
		f.keys[k.KioskID] = m
	}
	if old, ok := m[k.KeyID]; ok {
		if string(old.PublicKey) != string(k.PublicKey) {
			return false, fmt.Errorf("key %s of kiosk %s is already registered with another public key", k.KeyID, k.KioskID)
		}
		return false, nil
	}
	m[k.KeyID] = k
	f.all = nil
	return true, nil
}

// addHead records a head when it differs from the last one seen.
func (f *simFleet) addHead(kiosk string, h AuditHead) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hs := f.heads[kiosk]
	if n := len(hs); n > 0 && hs[n-1].Length == h.Length && hs[n-1].Head == h.Head {
		return
	}
	if len(hs) >= maxHeads {
		hs = hs[1:]
	}
	f.heads[kiosk] = append(hs, h)
}

// list returns the keys of one kiosk, or of all when kiosk is "".
func (f *simFleet) list(kiosk string) vouchertoken.Keys {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := vouchertoken.Keys{}
	for id, m := range f.keys {
		if kiosk != "" && id != kiosk {
			continue
		}
		for _, k := range m {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].KioskID != out[j].KioskID {
			return out[i].KioskID < out[j].KioskID
		}
		return out[i].CreatedAt.Before(out[j].CreatedAt)
	})
	return out
}

// Keys implements vouchertoken.KeySet over every registered key.
func (f *simFleet) Keys(keyID string) []vouchertoken.PublicKey {
	return f.list("").Keys(keyID)
}

func (s *Sim) putKey(w http.ResponseWriter, r *http.Request) {
	var k vouchertoken.PublicKey
	if !readBody(w, r, &k) {
		return
	}
	if k.KioskID == "" {
		k.KioskID = r.PathValue("kiosk")
	}
	if k.KioskID != r.PathValue("kiosk") || k.KeyID != r.PathValue("key") {
		invalid(w, "kiosk_id and key_id must be those of the path")
		return
	}
	if err := k.Check(); err != nil {
		invalid(w, err.Error())
		return
	}
	created, err := s.fleet.addKey(k)
	switch {
	case err != nil:
		writeJSON(w, http.StatusConflict, errorBody{Code: "key_conflict", Message: err.Error()})
	case created:
		w.WriteHeader(http.StatusCreated)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Sim) getKeys(w http.ResponseWriter, r *http.Request) {
	if kiosk := r.PathValue("kiosk"); kiosk != "" {
		writeJSON(w, http.StatusOK, vouchertoken.KeyFile{Keys: s.fleet.list(kiosk)})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(s.fleet.allEncoded())
}

// allEncoded is the body of GET /v1/keys, encoded once per change.
func (f *simFleet) allEncoded() []byte {
	f.mu.Lock()
	all := f.all
	f.mu.Unlock()
	if all != nil {
		return all
	}
	b, err := json.Marshal(vouchertoken.KeyFile{Keys: f.list("")})
	if err != nil {
		panic(err) // keys are plain strings, bytes and times
	}
	b = append(b, '\n')
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.all == nil {
		f.all = b
	}
	return b
}

func (s *Sim) getAuditHeads(w http.ResponseWriter, r *http.Request) {
	s.fleet.mu.Lock()
	hs := append([]AuditHead{}, s.fleet.heads[r.PathValue("kiosk")]...)
	s.fleet.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"heads": hs})
}

// beatExtras records the keys and audit head a heartbeat carried.
func (s *Sim) beatExtras(kiosk string, raw json.RawMessage) error {
	var b struct {
		Keys  []vouchertoken.PublicKey `json:"signing_keys"`
		Audit *AuditHead               `json:"audit"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return err
	}
	for i, k := range b.Keys {
		if k.KioskID == "" {
			k.KioskID = kiosk
		}
		if k.KioskID != kiosk {
			return fmt.Errorf("signing_keys[%d]: kiosk_id %q is not the heartbeat's", i, k.KioskID)
		}
		if err := k.Check(); err != nil {
			return fmt.Errorf("signing_keys[%d]: %w", i, err)
		}
		if _, err := s.fleet.addKey(k); err != nil {
			return err
		}
	}
	if b.Audit != nil {
		h := *b.Audit
		h.At = time.Now().UTC()
		s.fleet.addHead(kiosk, h)
	}
	return nil
}

// tokenVerdict checks a token given with a voucher lookup against the
// registered keys.
func (s *Sim) tokenVerdict(voucherInPath, opKiosk, token string) TokenVerdict {
	c, err := vouchertoken.Verify(token, s.fleet)
	v := TokenVerdict{Valid: err == nil}
	if c.KioskID != "" {
		v.KioskID, v.KeyID, v.Kind, v.CreatedAt = c.KioskID, c.KeyID, string(c.Kind), c.Created
		v.Name, v.IDNumber, v.CardNumber = c.Name, c.IDNumber, c.CardNumber
	}
	if err == nil && c.Voucher != voucherInPath {
		v.Valid, err = false, fmt.Errorf("the token is for voucher %s, not %s", c.Voucher, voucherInPath)
	}
	if err == nil && opKiosk != "" && c.KioskID != opKiosk {
		v.Valid, err = false, fmt.Errorf("voucher %s was issued by kiosk %s, the token names kiosk %s", voucherInPath, opKiosk, c.KioskID)
	}
	if err != nil {
		v.Error = err.Error()
	}
	return v
}
