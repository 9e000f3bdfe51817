package daemon

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/config"
	"github.com/kioskd/kioskd/kiosk/vouchertoken"
	"github.com/kioskd/kioskd/store/voucher"
	"github.com/kioskd/kioskd/ui/uitest"
)

// TestBrowserScannedReceiptWhileCentralIsDown: terminal A's receipt is
// scanned at terminal B (a QR scanner typing like a keyboard) while central
// is down. B shows who issued it and when, with the signature valid, from
// the fleet keys it cached from central; an altered receipt is refused.
func TestBrowserScannedReceiptWhileCentralIsDown(t *testing.T) {
	sim := central.NewSim(central.SimConfig{})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client, err := central.NewClient(central.ClientConfig{BaseURL: srv.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Terminal A: its key at central, a receipt it signed.
	a, err := vouchertoken.LoadKeyring(filepath.Join(t.TempDir(), "signing"), "KIOSK-A")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := client.PutKey(ctx, ownKeys(a)[0]); err != nil {
		t.Fatal(err)
	}
	v := voucher.New(7, 42)
	issued := time.Date(2026, 12, 1, 8, 15, 0, 0, time.Local)
	tok, err := a.Sign(vouchertoken.Claims{Voucher: v, Kind: "report_loss", Created: issued, Name: "N************", IDNumber: "079******345"})
	if err != nil {
		t.Fatal(err)
	}
	url := "https://si.example.gov/lookup?v=" + voucher.Format(v) + "&token=" + tok

	// Terminal B fetches the fleet's keys after its first heartbeat.
	e := runDaemon(t, func(c *config.Config) {
		c.KioskID = "KIOSK-B"
		c.Central.URL = srv.URL
		c.Central.HeartbeatInterval.Duration = time.Second
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		keys, _ := vouchertoken.ReadKeyFile(e.d.cfg.FleetKeysPath())
		if len(keys.Keys(a.Current().KeyID)) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("terminal B never cached terminal A's key; log:\n%s", e.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	sim.SetFaults(central.SimConfig{Outage: true})

	b := newBrowser(t, e)
	cat := uitest.Catalogue(t, "en")
	b.Run(t, uitest.Click(`#langs [data-lang="en"]`), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #screen[data-name="idle"]`)),
		uitest.Click(`#screen [data-value="lookup"]`), uitest.Screen("keypad", "voucher"),
		uitest.Scan(url+"\n"), uitest.Screen("lookup_result", ""))
	want := strings.NewReplacer("{kiosk}", "KIOSK-A", "{at}", "2026-12-01 08:15").Replace(cat["lookup.signed.valid"])
	if got := b.Text(t, "#signature"); got != want {
		t.Fatalf("signature line %q, want %q", got, want)
	}
	if got := b.Text(t, "#voucher"); got != voucher.Format(v) {
		t.Errorf("voucher %q, want %q", got, voucher.Format(v))
	}
	for sel, want := range map[string]string{`[data-row="row.name"]`: "N************", `[data-row="row.id_number"]`: "079******345", `[data-row="row.central"]`: cat["central.offline"]} {
		if got := b.Text(t, "#screen "+sel); got != want {
			t.Errorf("%s: %q, want %q", sel, got, want)
		}
	}
	b.Shot(t, "lookup-signed")

	// The same receipt with one character changed: refused, no facts shown.
	altered := []byte(url)
	i := len(altered) - 30
	altered[i] = map[bool]byte{true: 'B', false: 'A'}[altered[i] == 'A']
	b.Run(t, uitest.Click("#btn-finish"), uitest.Screen("idle", ""),
		uitest.Click(`#langs [data-lang="en"]`), chromedp.WaitVisible(chromedp.CSS(`html[lang="en"] #screen[data-name="idle"]`)),
		uitest.Click(`#screen [data-value="lookup"]`), uitest.Screen("keypad", "voucher"),
		uitest.Scan(string(altered)+"\n"), uitest.Screen("lookup_result", ""))
	if got := b.Text(t, "#signature"); !strings.HasPrefix(got, strings.SplitN(cat["lookup.signed.bad_signature"], ":", 2)[0]) {
		t.Fatalf("altered receipt: %q", got)
	}
	b.Shot(t, "lookup-altered")
}
