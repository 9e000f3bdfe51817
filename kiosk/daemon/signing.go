package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/receipt"
	"github.com/kioskd/kioskd/kiosk/vouchertoken"
)

// fleetKeys is what the terminal verifies scanned receipts with: its own
// keys and the fleet's as last fetched from central, kept in a file so they
// survive a restart while central is down.
type fleetKeys struct {
	own  vouchertoken.Keys
	path string

	mu      sync.Mutex
	fleet   vouchertoken.Keys
	written bool // fleet is what the cache file holds
}

func loadFleetKeys(path string, own vouchertoken.Keys) *fleetKeys {
	f := &fleetKeys{own: own, path: path}
	if keys, err := vouchertoken.ReadKeyFile(path); err == nil {
		f.fleet, f.written = keys, true
	}
	return f
}

// Keys implements vouchertoken.KeySet.
func (f *fleetKeys) Keys(keyID string) []vouchertoken.PublicKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.own.Keys(keyID)
	for _, k := range f.fleet.Keys(keyID) {
		dup := false
		for _, o := range out {
			dup = dup || (o.KioskID == k.KioskID && o.KeyID == k.KeyID)
		}
		if !dup {
			out = append(out, k)
		}
	}
	return out
}

// replace keeps keys as the fleet's and writes them to the cache file.
// Keys equal to those held (the usual answer: they change when a terminal
// joins or rotates) leave the file as it is: a heartbeat's fetch does not
// rewrite the cache file on the terminal's flash every interval, and a
// fleet-sim process does not marshal and write N keys per heartbeat.
func (f *fleetKeys) replace(keys vouchertoken.Keys) error {
	f.mu.Lock()
	same := f.written && sameKeys(f.fleet, keys)
	f.mu.Unlock()
	if same {
		return nil
	}
	data, err := json.MarshalIndent(vouchertoken.KeyFile{Keys: keys}, "", "  ")
	if err != nil {
		return err
	}
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return err
	}
	f.mu.Lock()
	f.fleet, f.written = keys, true
	f.mu.Unlock()
	return nil
}

// sameKeys reports whether a and b are the same key records in the same
// order.
func sameKeys(a, b vouchertoken.Keys) bool {
	return slices.EqualFunc(a, b, func(x, y vouchertoken.PublicKey) bool {
		return x.KioskID == y.KioskID && x.KeyID == y.KeyID && bytes.Equal(x.PublicKey, y.PublicKey) && x.CreatedAt.Equal(y.CreatedAt)
	})
}

// ownKeys are the terminal's public keys with its kiosk id.
func ownKeys(kr *vouchertoken.Keyring) vouchertoken.Keys {
	keys := kr.Public()
	for i := range keys {
		keys[i].KioskID = kr.KioskID
	}
	return keys
}

// token signs what a receipt prints; a receipt that cannot carry a token
// (e.g. a kiosk id too long for the budget) prints without one.
func (d *Daemon) token(r receipt.Data) string {
	name, id, card := receipt.Masked(r)
	tok, err := d.signer.Sign(vouchertoken.Claims{Voucher: r.Voucher, Kind: r.Kind, Created: r.Time, Name: name, IDNumber: id, CardNumber: card})
	if err != nil {
		d.log.Warn("receipt printed without a signed token", "voucher", r.Voucher, "err", err)
		return ""
	}
	return tok
}

// receiptCheck checks scanned receipts for the session.
type receiptCheck struct{ keys vouchertoken.KeySet }

func (c receiptCheck) CheckReceipt(_ context.Context, scanned string) flow.SignedVoucher {
	claims, err := vouchertoken.Verify(scanned, c.keys)
	sv := flow.SignedVoucher{Valid: err == nil, KioskID: claims.KioskID, KeyID: claims.KeyID, Voucher: claims.Voucher,
		Kind: claims.Kind, Created: claims.Created, Name: claims.Name, IDNumber: claims.IDNumber, CardNumber: claims.CardNumber}
	switch {
	case err == nil:
	case errors.Is(err, vouchertoken.ErrUnknownKey):
		sv.Problem = "unknown_key"
	case errors.Is(err, vouchertoken.ErrWrongKiosk):
		sv.Problem = "wrong_kiosk"
	case errors.Is(err, vouchertoken.ErrSignature):
		sv.Problem = "bad_signature"
	default:
		sv.Problem = "malformed"
	}
	return sv
}

// beat is the heartbeat: status, the terminal's public keys and the audit
// chain head.
func (d *Daemon) beat(ctx context.Context) central.Beat {
	b := central.Beat{Status: d.heartbeatStatus(ctx), Keys: ownKeys(d.signer)}
	if h, err := d.store.AuditHead(); err == nil && h.Length > 0 {
		b.Audit = &central.AuditHead{Length: h.Length, Head: h.Head}
	}
	return b
}

// publishKeys puts the terminal's keys to central (idempotent) and fetches
// the fleet's into the cache; called after a heartbeat got through.
func (d *Daemon) publishKeys(ctx context.Context) error {
	for _, k := range ownKeys(d.signer) {
		if err := d.client.PutKey(ctx, k); err != nil {
			return err
		}
	}
	keys, err := d.client.FleetKeys(ctx)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(d.fleet.path), 0o700); err != nil {
		return err
	}
	return d.fleet.replace(keys)
}
