package cardsim

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/kioskd/kioskd/hwbridge/card/apdu"
)

// echoApplet answers every command with its data and 9000, counting resets:
// the core's behaviour is tested apart from any real applet.
type echoApplet struct{ resets int }

func (e *echoApplet) Process(cmd apdu.Command) []byte { return apdu.StatusWord(apdu.SWOK, cmd.Data...) }
func (e *echoApplet) Reset()                          { e.resets++ }

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }

func newEcho(t *testing.T, opt Options) (*Card, *echoApplet) {
	t.Helper()
	e := &echoApplet{}
	c := &Card{opt: opt, atr: DefaultATR, applet: e, rnd: newTestRand()}
	return c, e
}

func TestCardProcess(t *testing.T) {
	c, e := newEcho(t, Options{})
	if got := c.Process([]byte{0x00, 0x01, 0x00, 0x00, 0x02, 0xAA, 0xBB}); !bytes.Equal(got, []byte{0xAA, 0xBB, 0x90, 0x00}) {
		t.Fatalf("Process = % X", got)
	}
	if got := c.Process([]byte{0x00, 0x01}); !bytes.Equal(got, []byte{0x67, 0x00}) {
		t.Fatalf("malformed command: % X, want 6700", got)
	}
	if got := c.Process([]byte{0xFF, 0xCA, 0x00, 0x00, 0x00}); !bytes.Equal(got, []byte{0x6E, 0x00}) {
		t.Fatalf("CLA FF: % X, want 6E00", got)
	}
	c.Reset()
	if e.resets != 1 {
		t.Fatalf("Reset did not reach the applet")
	}
	if c.Count() != 3 {
		t.Fatalf("Count = %d, want 3", c.Count())
	}
	if !bytes.Equal(c.ATR(), DefaultATR) {
		t.Fatalf("ATR = % X", c.ATR())
	}
}

func TestDirect(t *testing.T) {
	c, _ := newEcho(t, Options{})
	d := Direct(c)
	resp, err := d.Transmit(context.Background(), []byte{0x00, 0x01, 0x00, 0x00, 0x01, 0x42})
	if err != nil || !bytes.Equal(resp, []byte{0x42, 0x90, 0x00}) {
		t.Fatalf("Transmit = % X, %v", resp, err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Transmit(context.Background(), []byte{0, 1, 0, 0}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Transmit after Close: %v", err)
	}
}

func TestDirectHonoursContextDuringDelay(t *testing.T) {
	c, _ := newEcho(t, Options{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := Direct(c).Transmit(ctx, []byte{0, 1, 0, 0}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Transmit on a slow card: %v, want deadline exceeded", err)
	}
	if c.Count() != 0 {
		t.Fatal("the card processed a command its caller gave up on")
	}
}

func TestDirectGarbage(t *testing.T) {
	c, _ := newEcho(t, Options{Garbage: true})
	d := Direct(c)
	var short, long int
	for range 200 {
		resp, err := d.Transmit(context.Background(), []byte{0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00})
		switch {
		case err != nil:
			short++
		case len(resp) >= 2:
			long++
		default:
			t.Fatalf("Transmit returned %d bytes without an error", len(resp))
		}
	}
	if short == 0 || long == 0 {
		t.Fatalf("garbage answers: %d errors, %d responses; want both kinds", short, long)
	}
}

func TestParseProfileErrors(t *testing.T) {
	tests := map[string]struct{ in, want string }{
		"unknown field":  {`{"type":"ss_card","colour":"red"}`, `unknown field "colour"`},
		"missing type":   {`{"card_number":"A1"}`, "field type is missing"},
		"bad type":       {`{"type":"passport"}`, `"passport" is not`},
		"trailing":       {`{"type":"emrtd","mrz":"X"} {}`, "after the JSON object"},
		"not json":       {`{"type":`, "card profile"},
		"mixed":          {`{"type":"emrtd","mrz":"X","pin":"1234"}`, "do not belong to type emrtd"},
		"emrtd no mrz":   {`{"type":"emrtd"}`, "field mrz is missing"},
		"emrtd bad dg13": {`{"type":"emrtd","mrz":"X","dg13":[1]}`, "dg13 is not a JSON object"},
		"emrtd photo":    {`{"type":"emrtd","mrz":"X","photo_jpeg_b64":"***"}`, "photo_jpeg_b64"},
		"ss with mrz":    {`{"type":"ss_card","mrz":"X"}`, "belong to type emrtd"},
		"wrong type":     {`{"type":"ss_card","gender":1}`, "gender"},
	}
	for name, tt := range tests {
		_, err := ParseProfile([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", name, err, tt.want)
		}
	}
}

func TestNewUnknownApplet(t *testing.T) {
	// A build without the eMRTD applet (and its validator) must say so.
	savedA, savedV := Applets[TypeEMRTD], validators[TypeEMRTD]
	delete(Applets, TypeEMRTD)
	delete(validators, TypeEMRTD)
	defer func() {
		if savedA != nil {
			Applets[TypeEMRTD] = savedA
		}
		if savedV != nil {
			validators[TypeEMRTD] = savedV
		}
	}()
	if _, err := New(Profile{Type: TypeEMRTD, MRZ: "X"}, Options{}); err == nil || !strings.Contains(err.Error(), "no applet") {
		t.Fatalf("New without an applet: %v", err)
	}
}

func FuzzParseProfile(f *testing.F) {
	f.Add([]byte(`{"type":"ss_card","card_number":"A12345678","ssn":"110101199003071233","name":"张三","gender":"1","nationality":"CHN","birth_date":"19900307","issue_date":"20200101","expiry_date":"20300101","issuer_code":"110000","card_type":"3","spec_version":"3.00","pin":"123456"}`))
	f.Add([]byte(`{"type":"emrtd","mrz":"IDVNM0123456789<<<<<<<<<<<<<<<9001011M3001018VNM<<<<<<<<<<<0NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<<<","dg13":{}}`))
	f.Add([]byte(`{"type":"ss_card","name":"\ud800"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProfile(b)
		if err != nil {
			if p.Type != "" || p.MRZ != "" || p.SSN != "" {
				t.Fatalf("ParseProfile failed (%v) but returned a profile", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("ParseProfile accepted a profile Validate rejects: %v", err)
		}
	})
}
