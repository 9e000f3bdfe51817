package central

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/kiosk/op"
	"github.com/kioskd/kioskd/kiosk/vouchertoken"
	"github.com/kioskd/kioskd/store/voucher"
)

func keyring(t *testing.T, kiosk string) *vouchertoken.Keyring {
	t.Helper()
	kr, err := vouchertoken.LoadKeyring(filepath.Join(t.TempDir(), "signing"), kiosk)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestSimKeysAreStoredIdempotentlyAndServed(t *testing.T) {
	_, c, srv := startSim(t, SimConfig{})
	ctx := context.Background()
	a, b := keyring(t, "K-A"), keyring(t, "K-B")
	key := a.Current()
	key.KioskID = "K-A"
	for range 2 { // the same key again is fine
		if err := c.PutKey(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	// A different public key under the same id is refused.
	body, _ := json.Marshal(map[string]any{"kiosk_id": "K-A", "key_id": key.KeyID, "public_key": b.Current().PublicKey})
	if st, ans := doJSON(t, "PUT", srv.URL+"/v1/kiosks/K-A/keys/"+key.KeyID, string(body)); st != 400 && st != 409 {
		t.Fatalf("conflicting key: %d %s", st, ans)
	}
	// The fleet's keys, asked for after every heartbeat, are encoded once
	// by the simulator and decoded once by the client per change: the
	// answer after a new terminal's key holds it.
	if all, err := c.FleetKeys(ctx); err != nil || len(all) != 1 {
		t.Fatalf("fleet keys before K-B: %v %v", all, err)
	}
	// Keys also arrive with a heartbeat.
	if err := c.HeartbeatWith(ctx, "K-B", Beat{Status: map[string]any{}, Keys: b.Public()}); err != nil {
		t.Fatal(err)
	}
	ka, err := c.KioskKeys(ctx, "K-A")
	if err != nil || len(ka) != 1 || ka[0].KeyID != key.KeyID {
		t.Fatalf("K-A's keys: %v %v", ka, err)
	}
	all, err := c.FleetKeys(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("fleet keys: %v %v", all, err)
	}
	again, err := c.FleetKeys(ctx)
	if err != nil || len(again) != 2 || again[0].KioskID != "K-A" || again[1].KioskID != "K-B" {
		t.Fatalf("fleet keys asked again: %v %v", again, err)
	}
}

func TestSimAuditHeadsHistory(t *testing.T) {
	_, c, _ := startSim(t, SimConfig{})
	ctx := context.Background()
	for _, h := range []AuditHead{{Length: 3, Head: "aa"}, {Length: 3, Head: "aa"}, {Length: 5, Head: "bb"}} {
		if err := c.HeartbeatWith(ctx, "K-A", Beat{Status: map[string]any{}, Audit: &h}); err != nil {
			t.Fatal(err)
		}
	}
	hs, err := c.AuditHeads(ctx, "K-A")
	if err != nil || len(hs) != 2 || hs[0].Length != 3 || hs[1].Head != "bb" || hs[1].At.IsZero() {
		t.Fatalf("heads: %+v %v", hs, err)
	}
	if hs, _ := c.AuditHeads(ctx, "K-OTHER"); len(hs) != 0 {
		t.Fatalf("another kiosk's heads: %+v", hs)
	}
}

func TestSimVerifiesVoucherTokens(t *testing.T) {
	_, c, srv := startSim(t, SimConfig{})
	ctx := context.Background()
	a, b := keyring(t, "K-A"), keyring(t, "K-B")
	for _, kr := range []*vouchertoken.Keyring{a, b} {
		if err := c.HeartbeatWith(ctx, kr.KioskID, Beat{Status: map[string]any{}, Keys: kr.Public()}); err != nil {
			t.Fatal(err)
		}
	}
	o := testOp(1)
	o.Voucher, o.KioskID = "012340000427", "K-A"
	if _, err := c.Submit(ctx, o); err != nil {
		t.Fatal(err)
	}
	claims := vouchertoken.Claims{Voucher: o.Voucher, Kind: op.Kind(o.Kind), Created: time.Unix(1_780_000_000, 0), Name: "张*"}
	good, err := a.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	other := claims
	other.Voucher = voucher.New(1234, 43)
	otherTok, err := a.Sign(other)
	if err != nil {
		t.Fatal(err)
	}
	byB, _ := b.Sign(claims)
	for _, c := range []struct {
		name, token string
		status      int
		valid       bool
		says        string
	}{
		{"valid", good, 200, true, ""},
		{"altered", good[:40] + map[bool]string{true: "B", false: "A"}[good[40] == 'A'] + good[41:], 200, false, ""},
		{"truncated", good[:50], 200, false, "not a valid voucher token"},
		{"for another voucher", otherTok, 200, false, "for voucher " + voucher.New(1234, 43)},
		{"another kiosk's", byB, 200, false, "issued by kiosk K-A"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st, ans := doJSON(t, "GET", srv.URL+"/v1/vouchers/"+o.Voucher+"?token="+c.token, "")
			var v struct {
				State string       `json:"state"`
				Token TokenVerdict `json:"token"`
			}
			if st != c.status || json.Unmarshal([]byte(ans), &v) != nil {
				t.Fatalf("%d %s", st, ans)
			}
			if v.Token.Valid != c.valid || !strings.Contains(v.Token.Error, c.says) || v.State == "" {
				t.Fatalf("verdict %+v", v)
			}
		})
	}
}
