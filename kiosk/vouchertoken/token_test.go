package vouchertoken

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/kiosk/op"
)

// claims is a worst case for the size budget: the default kiosk id and
// the longest masked values Build prints.
var claims = Claims{
	KioskID: "KIOSK-DEV-0001", Voucher: "012340000427", Kind: op.ReportLoss,
	Created: time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC),
	Name:    "N************", IDNumber: "110***********1234", CardNumber: "A12*****5678",
}

func newKeyring(t testing.TB, kiosk string) *Keyring {
	t.Helper()
	kr, err := LoadKeyring(filepath.Join(t.TempDir(), "signing"), kiosk)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func TestSignVerifyRoundTrip(t *testing.T) {
	kr := newKeyring(t, claims.KioskID)
	tok, err := kr.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) > MaxLen {
		t.Fatalf("token is %d characters, budget %d", len(tok), MaxLen)
	}
	got, err := Verify("https://lookup.example/v/01234-000042-7?token="+tok, kr.Public())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	want := claims
	want.KeyID = kr.Current().KeyID
	if got != want {
		t.Fatalf("claims\n got %+v\nwant %+v", got, want)
	}
}

func TestEveryBitFlipIsRefused(t *testing.T) {
	kr := newKeyring(t, claims.KioskID)
	tok, err := kr.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range len(raw) * 8 {
		b := append([]byte(nil), raw...)
		b[i/8] ^= 1 << (i % 8)
		if c, err := Verify(base64.RawURLEncoding.EncodeToString(b), kr.Public()); err == nil {
			t.Fatalf("bit %d flipped: verified as %+v", i, c)
		}
	}
}

func TestRefusals(t *testing.T) {
	kr := newKeyring(t, claims.KioskID)
	other := newKeyring(t, "KIOSK-OTHER")
	tok, err := kr.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	// Kiosk B signs a token that names kiosk A.
	forged, err := Sign(other.keys[0].priv, Claims{KioskID: claims.KioskID, Voucher: claims.Voucher, Kind: claims.Kind, Created: claims.Created})
	if err != nil {
		t.Fatal(err)
	}
	// Kiosk B's own token, checked against A's keys only.
	othersOwn, err := other.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	fleet := append(kr.Public(), other.Public()...)
	for _, c := range []struct {
		name, text string
		keys       KeySet
		want       error
		says       string
	}{
		{"empty", "", fleet, ErrMalformed, "empty"},
		{"truncated", tok[:len(tok)-10], fleet, ErrMalformed, ""},
		{"truncated to the head", tok[:20], fleet, ErrMalformed, "truncated"},
		{"oversized", tok + strings.Repeat("A", MaxLen), fleet, ErrMalformed, "at most 160"},
		{"foreign text", "hello, world", fleet, ErrMalformed, "base64url"},
		{"foreign url", "https://example.com/?q=1", fleet, ErrMalformed, ""},
		{"other version", "Ag" + tok[2:], fleet, ErrMalformed, "version"},
		{"unknown key id", tok, other.Public(), ErrUnknownKey, "no key " + kr.Current().KeyID},
		{"another kiosk's key", forged, fleet, ErrWrongKiosk, "KIOSK-OTHER"},
		{"another kiosk's token", othersOwn, kr.Public(), ErrUnknownKey, "kiosk KIOSK-OTHER"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Verify(c.text, c.keys)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Fatalf("error %q does not say %q", err, c.says)
			}
		})
	}
}

func TestAlteredSignatureNamesTheKey(t *testing.T) {
	kr := newKeyring(t, claims.KioskID)
	tok, _ := kr.Sign(claims)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	raw[len(raw)-1] ^= 0x80
	_, err := Verify(base64.RawURLEncoding.EncodeToString(raw), kr.Public())
	if !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), kr.Current().KeyID) {
		t.Fatalf("got %v", err)
	}
}

func TestRotatedKeyKeepsOldTokensValid(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "signing")
	kr, err := LoadKeyring(dir, claims.KioskID)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := kr.Sign(claims)
	oldID := kr.Current().KeyID
	if _, err := Rotate(dir, claims.KioskID, time.Now()); err != nil {
		t.Fatal(err)
	}
	kr, err = LoadKeyring(dir, claims.KioskID)
	if err != nil {
		t.Fatal(err)
	}
	if kr.Current().KeyID == oldID || len(kr.Public()) != 2 {
		t.Fatalf("after rotation: current %s, %d keys", kr.Current().KeyID, len(kr.Public()))
	}
	fresh, _ := kr.Sign(claims)
	for _, tok := range []string{old, fresh} {
		if _, err := Verify(tok, kr.Public()); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	if c, _ := Verify(fresh, kr.Public()); c.KeyID != kr.Current().KeyID {
		t.Fatalf("new token signed by %s, want the new key %s", c.KeyID, kr.Current().KeyID)
	}
}

func TestKeyFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "signing")
	kr, err := LoadKeyring(dir, "K1")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, kr.Current().KeyID+keySuffix))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	// The same key comes back on the next start.
	again, err := LoadKeyring(dir, "K1")
	if err != nil || again.Current().KeyID != kr.Current().KeyID {
		t.Fatalf("reload: %v, key %s vs %s", err, again.Current().KeyID, kr.Current().KeyID)
	}
}

func TestDamagedKeyFileIsAnError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "signing")
	kr, _ := LoadKeyring(dir, "K1")
	name := filepath.Join(dir, kr.Current().KeyID+keySuffix)
	if err := os.WriteFile(name, []byte(`{"key_id":"00000000","seed":"zz"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyring(dir, "K1"); err == nil || !strings.Contains(err.Error(), name) {
		t.Fatalf("got %v, want an error naming %s", err, name)
	}
}

func TestSignRefusesWhatItCannotCarry(t *testing.T) {
	kr := newKeyring(t, strings.Repeat("K", 40))
	if _, err := kr.Sign(claims); err == nil || !strings.Contains(err.Error(), "over the 160") {
		t.Fatalf("long kiosk id: got %v", err)
	}
	kr = newKeyring(t, "K1")
	bad := claims
	bad.Voucher = "012340000428"
	if _, err := kr.Sign(bad); err == nil {
		t.Fatal("a voucher with a wrong check digit was signed")
	}
	bad = claims
	bad.Name = "a\nb"
	if _, err := kr.Sign(bad); err == nil {
		t.Fatal("a control character was signed")
	}
}

func TestReadKeyFile(t *testing.T) {
	kr := newKeyring(t, "K1")
	path := filepath.Join(t.TempDir(), "keys.json")
	os.WriteFile(path, []byte(`{"keys":[{"kiosk_id":"K1","key_id":"`+kr.Current().KeyID+`","public_key":"`+base64.StdEncoding.EncodeToString(kr.Current().PublicKey)+`"}]}`), 0o600)
	keys, err := ReadKeyFile(path)
	if err != nil || len(keys) != 1 {
		t.Fatalf("%v %v", keys, err)
	}
	os.WriteFile(path, []byte(`{"keys":[{"kiosk_id":"K1","key_id":"00000000","public_key":"`+base64.StdEncoding.EncodeToString(kr.Current().PublicKey)+`"}]}`), 0o600)
	if _, err := ReadKeyFile(path); err == nil || !strings.Contains(err.Error(), "key 1") {
		t.Fatalf("wrong key id: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	tok, err := Sign(priv, claims)
	if err != nil {
		f.Fatal(err)
	}
	keys := Keys{{KioskID: claims.KioskID, KeyID: KeyID(priv.Public().(ed25519.PublicKey)), PublicKey: priv.Public().(ed25519.PublicKey)}}
	f.Add(tok)
	f.Add("https://x/v?token=" + tok + "&a=b")
	f.Add(tok[:40])
	f.Add("AQ")
	f.Fuzz(func(t *testing.T, s string) {
		tk, err := Decode(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if err := tk.Verify(keys); err == nil && FromText(s) != tok {
			// Only the signed token itself verifies (Ed25519 is
			// deterministic; a different encoding of the same bytes
			// cannot be produced by base64url without padding).
			t.Fatalf("%q verified", s)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	kr := newKeyring(b, claims.KioskID)
	start := time.Now()
	n := 0
	for b.Loop() {
		for range 1000 {
			if _, err := kr.Sign(claims); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "voucher_sign_us:us")
}

func BenchmarkVerify(b *testing.B) {
	kr := newKeyring(b, claims.KioskID)
	tok, _ := kr.Sign(claims)
	keys := kr.Public()
	start := time.Now()
	n := 0
	for b.Loop() {
		for range 1000 {
			if _, err := Verify(tok, keys); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/float64(n), "voucher_verify_us:us")
}
