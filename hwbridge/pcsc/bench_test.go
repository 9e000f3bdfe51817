//go:build pcsc

package pcsc_test

import (
	"context"
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
	"github.com/kioskd/kioskd/hwbridge/card/sscard"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
	"github.com/kioskd/kioskd/hwbridge/sim/vpcd"
)

// benchReads is how many insert-to-decoded reads each benchmark times; the
// median is reported.
const benchReads = 20

func median(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return float64(m) / float64(time.Millisecond)
}

// insertAndRead plugs card into vpcd slot i (the card process connecting
// to the driver is the insertion), waits for the supervisor's CardInserted,
// connects and runs read, then removes the card again. It returns how long
// pcscd took to see the card (vpcd connect to CardInserted: pcscd polls the
// driver, which kioskd does not control) and how long kioskd's part took
// (Connect to decoded data).
func insertAndRead(b *testing.B, st *stack, i int, slot hwbridge.Slot, card *cardsim.Card,
	read func(context.Context, hwbridge.Card) error) (detect, took time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	connected := make(chan time.Time, 1)
	remove := st.insert(i, card, vpcd.Options{OnConnect: func(string) {
		select {
		case connected <- time.Now():
		default:
		}
	}})
	st.want(hwbridge.CardInserted, slot)
	detect = time.Since(<-connected)
	start := time.Now()
	c, err := st.sup.Connect(ctx, slot)
	if err != nil {
		b.Fatalf("Connect: %v", err)
	}
	if err := read(ctx, c); err != nil {
		b.Fatalf("read: %v", err)
	}
	took = time.Since(start)
	c.Close()
	remove()
	st.want(hwbridge.CardRemoved, slot)
	return detect, took
}

func newCard(b *testing.B, path string) (cardsim.Profile, *cardsim.Card) {
	b.Helper()
	p := loadProfile(b, path)
	c, err := cardsim.New(p, cardsim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return p, c
}

// BenchmarkSSCardRead: the social security card through pcscd and vpcd,
// median of benchReads insertions:
//   - card_detect_ms: the card process connecting to vpcd until the
//     supervisor reports CardInserted (pcscd's polling of the driver);
//   - card_read_ss_ms: Connect until the holder is decoded, the part kioskd
//     owns; goal: at most card_read_ss_apdus × apdu_roundtrip_ms + 5 ms,
//     reported as card_read_ss_budget_ms;
//   - card_read_ss_apdus: the APDUs one read takes;
//   - apdu_roundtrip_ms: one APDU through the same stack (median of 50).
func BenchmarkSSCardRead(b *testing.B) {
	st := newStack(b)
	_, card := newCard(b, ssProfile)
	var apdus int
	for range b.N {
		var detects, times []time.Duration
		for range benchReads {
			detect, took := insertAndRead(b, st, 0, hwbridge.SlotSS, card,
				func(ctx context.Context, c hwbridge.Card) error {
					before := card.Count()
					_, err := sscard.Read(ctx, c)
					apdus = card.Count() - before
					return err
				})
			detects, times = append(detects, detect), append(times, took)
		}

		st.insert(0, card, vpcd.Options{})
		st.want(hwbridge.CardInserted, hwbridge.SlotSS)
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		c, err := st.sup.Connect(ctx, hwbridge.SlotSS)
		if err != nil {
			b.Fatal(err)
		}
		selectMF := []byte{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00}
		var rtts []time.Duration
		for range 50 {
			t0 := time.Now()
			if _, err := c.Transmit(ctx, selectMF); err != nil {
				b.Fatal(err)
			}
			rtts = append(rtts, time.Since(t0))
		}
		c.Close()
		cancel()
		rtt := median(rtts)
		b.ReportMetric(median(detects), "card_detect_ms:ms")
		b.ReportMetric(median(times), "card_read_ss_ms:ms")
		b.ReportMetric(float64(apdus), "card_read_ss_apdus:apdus")
		b.ReportMetric(rtt, "apdu_roundtrip_ms:ms")
		b.ReportMetric(float64(apdus)*rtt+5, "card_read_ss_budget_ms:ms")
	}
	b.ReportMetric(0, "ns/op")
}

// BenchmarkEMRTDRead: the ID card (BAC, secure messaging, EF.COM, DG1,
// DG13, EF.SOD with passive authentication, the closing reset) through
// pcscd and vpcd, Connect until decoded (card_read_emrtd_ms, median of
// benchReads), and the APDUs one read takes (card_read_emrtd_apdus).
func BenchmarkEMRTDRead(b *testing.B) {
	st := newStack(b)
	p, card := newCard(b, emrtdProfile)
	m, err := emrtd.ParseMRZ(p.MRZ)
	if err != nil {
		b.Fatal(err)
	}
	key := emrtd.KeyFromMRZ(m)
	opt := emrtd.Options{CSCA: []*x509.Certificate{cardsim.TestCSCA().Cert}}
	var apdus int
	for range b.N {
		var times []time.Duration
		for range benchReads {
			_, took := insertAndRead(b, st, 1, hwbridge.SlotID, card,
				func(ctx context.Context, c hwbridge.Card) error {
					before := card.Count()
					_, err := emrtd.Read(ctx, c, key, opt)
					apdus = card.Count() - before
					return err
				})
			times = append(times, took)
		}
		b.ReportMetric(median(times), "card_read_emrtd_ms:ms")
		b.ReportMetric(float64(apdus), "card_read_emrtd_apdus:apdus")
	}
	b.ReportMetric(0, "ns/op")
}
