package bac

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/card/apdu"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func eqHex(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if w := unhex(t, want); !bytes.Equal(got, w) {
		t.Errorf("%s = %X, want %X", what, got, w)
	}
}

// The worked example of ICAO Doc 9303 part 11, appendix D (D.2 to D.4).
const (
	katMRZInfo = "L898902C<369080619406236"
	katRndICC  = "4608F91988702212"
	katRndIFD  = "781723860C06C226"
	katKIFD    = "0B795240CB7049B01C19B33E32804F0B"
	katKICC    = "0B4F80323EB3191CB04970CB4052790B"
	katCmd     = "72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A7"
	katResp    = "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D7449"
)

func TestKeyDerivationKAT(t *testing.T) {
	seed := Seed(katMRZInfo)
	eqHex(t, "K_seed", seed, "239AB9CB282DAF66231DC5A4DF6BFBAE")
	k := DeriveKeys(seed)
	eqHex(t, "K_enc", k.Enc, "AB94FDECF2674FDFB9B391F85D7F76F2")
	eqHex(t, "K_mac", k.MAC, "7962D9ECE03D1ACD4C76089DCE131543")
}

func TestMutualAuthenticationKAT(t *testing.T) {
	k := DeriveKeys(Seed(katMRZInfo))
	rndICC, rndIFD, kIFD, kICC := unhex(t, katRndICC), unhex(t, katRndIFD), unhex(t, katKIFD), unhex(t, katKICC)

	cmd := AuthenticateCommand(k, rndIFD, rndICC, kIFD)
	eqHex(t, "E_IFD‖M_IFD", cmd, katCmd)

	resp, chip, err := AnswerAuthenticate(k, cmd, rndICC, kICC)
	if err != nil {
		t.Fatalf("chip side: %v", err)
	}
	eqHex(t, "E_ICC‖M_ICC", resp, katResp)

	reader, err := FinishAuthenticate(k, resp, rndIFD, rndICC, kIFD)
	if err != nil {
		t.Fatalf("reader side: %v", err)
	}
	for name, s := range map[string]*Session{"reader": reader, "chip": chip} {
		eqHex(t, name+" KS_enc", s.Keys.Enc, "979EC13B1CBFE9DCD01AB0FED307EAE5")
		eqHex(t, name+" KS_mac", s.Keys.MAC, "F1CB1F1FB5ADF208806B89DC579DC1F8")
		if s.SSC != 0x887022120C06C226 {
			t.Errorf("%s SSC = %016X, want 887022120C06C226", name, s.SSC)
		}
	}
}

func TestMutualAuthenticationWrongKey(t *testing.T) {
	k := DeriveKeys(Seed(katMRZInfo))
	wrong := DeriveKeys(Seed("L898902C<369080619406237"))
	rndICC, rndIFD, kIFD, kICC := unhex(t, katRndICC), unhex(t, katRndIFD), unhex(t, katKIFD), unhex(t, katKICC)
	cmd := AuthenticateCommand(wrong, rndIFD, rndICC, kIFD)
	if _, _, err := AnswerAuthenticate(k, cmd, rndICC, kICC); !errors.Is(err, ErrAuthentication) {
		t.Errorf("chip accepted a cryptogram made with the wrong keys: %v", err)
	}
	resp, _, _ := AnswerAuthenticate(k, AuthenticateCommand(k, rndIFD, rndICC, kIFD), rndICC, kICC)
	if _, err := FinishAuthenticate(wrong, resp, rndIFD, rndICC, kIFD); !errors.Is(err, ErrAuthentication) {
		t.Errorf("reader accepted an answer under the wrong keys: %v", err)
	}
	if _, err := FinishAuthenticate(k, resp, rndICC, rndICC, kIFD); !errors.Is(err, ErrAuthentication) {
		t.Errorf("reader accepted an answer to another challenge: %v", err)
	}
}

func katSession(t *testing.T) *Session {
	return &Session{
		Keys: Keys{Enc: unhex(t, "979EC13B1CBFE9DCD01AB0FED307EAE5"), MAC: unhex(t, "F1CB1F1FB5ADF208806B89DC579DC1F8")},
		SSC:  0x887022120C06C226,
	}
}

// TestSecureMessagingKAT replays appendix D.4: SELECT EF.COM and two READ
// BINARY commands, from both ends.
func TestSecureMessagingKAT(t *testing.T) {
	steps := []struct {
		name      string
		plain     apdu.Command
		protected string
		answer    string // protected answer from the chip
		plainResp string // its data
		sw        uint16
	}{
		{"select EF.COM", apdu.Command{INS: 0xA4, P1: 0x02, P2: 0x0C, Data: []byte{0x01, 0x1E}, Le: -1},
			"0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800", "990290008E08FA855A5D4C50A8ED9000", "", 0x9000},
		{"read 4 bytes", apdu.Command{INS: 0xB0, P1: 0, P2: 0, Le: 4},
			"0CB000000D9701048E08ED6705417E96BA5500", "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000", "60145F01", 0x9000},
		{"read the rest", apdu.Command{INS: 0xB0, P1: 0, P2: 4, Le: 0x12},
			"0CB000040D9701128E082EA28A70F3C7B53500", "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000", "04303130365F36063034303030305C026175", 0x9000},
	}
	reader, chip := katSession(t), katSession(t)
	for _, st := range steps {
		w, err := reader.Wrap(st.plain)
		if err != nil {
			t.Fatalf("%s: wrap: %v", st.name, err)
		}
		b, _ := w.Bytes()
		eqHex(t, st.name+" protected command", b, st.protected)

		pc, err := apdu.ParseCommand(unhex(t, st.protected))
		if err != nil {
			t.Fatal(err)
		}
		got, err := chip.UnwrapCommand(pc)
		if err != nil {
			t.Fatalf("%s: chip unwrap: %v", st.name, err)
		}
		if got.INS != st.plain.INS || got.P1 != st.plain.P1 || got.P2 != st.plain.P2 || !bytes.Equal(got.Data, st.plain.Data) || got.Le != st.plain.Le {
			t.Errorf("%s: chip saw %v data %X, want %v data %X", st.name, got, got.Data, st.plain, st.plain.Data)
		}
		plainResp := apdu.Response{Data: unhex(t, st.plainResp), SW1: byte(st.sw >> 8), SW2: byte(st.sw)}
		eqHex(t, st.name+" protected answer", chip.WrapResponse(plainResp).Bytes(), st.answer)

		ar, _ := apdu.ParseResponse(unhex(t, st.answer))
		r, err := reader.Unwrap(ar)
		if err != nil {
			t.Fatalf("%s: unwrap: %v", st.name, err)
		}
		if r.SW() != st.sw || !bytes.Equal(r.Data, unhex(t, st.plainResp)) {
			t.Errorf("%s: answer %X %04X, want %s %04X", st.name, r.Data, r.SW(), st.plainResp, st.sw)
		}
	}
}

func TestUnwrapRejectsTampering(t *testing.T) {
	answer := "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"
	good := unhex(t, answer)
	for i := 0; i < len(good)-2; i++ {
		b := append([]byte(nil), good...)
		b[i] ^= 0x01
		s := katSession(t)
		s.SSC++ // the command was sent
		r, _ := apdu.ParseResponse(b)
		if _, err := s.Unwrap(r); err == nil {
			t.Errorf("byte %d flipped: answer accepted", i)
		} else if !errors.Is(err, ErrSMIncorrect) && !errors.Is(err, ErrSMMissing) {
			t.Errorf("byte %d flipped: error %v is neither ErrSMIncorrect nor ErrSMMissing", i, err)
		}
	}
	s := katSession(t)
	if _, err := s.Unwrap(apdu.Response{SW1: 0x90}); !errors.Is(err, ErrSMMissing) {
		t.Errorf("bare 9000 accepted: %v", err)
	}
	r, err := s.Unwrap(apdu.Response{SW1: 0x69, SW2: 0x88})
	if err != nil || r.SW() != 0x6988 {
		t.Errorf("bare 6988: got %v %v, want the status passed through", r, err)
	}
}

func TestUnwrapCommandRejectsWrongMAC(t *testing.T) {
	pc, _ := apdu.ParseCommand(unhex(t, "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F900"))
	if _, err := katSession(t).UnwrapCommand(pc); !errors.Is(err, ErrSMIncorrect) {
		t.Errorf("wrong MAC: %v, want ErrSMIncorrect", err)
	}
	pc, _ = apdu.ParseCommand(unhex(t, "0CA4020C0B8709016375432908C044F600"))
	if _, err := katSession(t).UnwrapCommand(pc); !errors.Is(err, ErrSMMissing) {
		t.Errorf("no MAC: %v, want ErrSMMissing", err)
	}
	pc, _ = apdu.ParseCommand(unhex(t, "00A4020C02011E"))
	if _, err := katSession(t).UnwrapCommand(pc); !errors.Is(err, ErrSMMissing) {
		t.Errorf("plain command: %v, want ErrSMMissing", err)
	}
}

func TestRoundTripLongData(t *testing.T) {
	reader, chip := katSession(t), katSession(t)
	data := bytes.Repeat([]byte{0xA5}, 231)
	c := apdu.Command{INS: 0xB0, P1: 1, P2: 2, Le: 231}
	w, err := reader.Wrap(c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chip.UnwrapCommand(w); err != nil {
		t.Fatal(err)
	}
	r, err := reader.Unwrap(chip.WrapResponse(apdu.Response{Data: data, SW1: 0x90}))
	if err != nil || !bytes.Equal(r.Data, data) {
		t.Fatalf("231 bytes did not survive: %v", err)
	}
}

func FuzzUnwrapSM(f *testing.F) {
	f.Add(unhex(f, "8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"))
	f.Add(unhex(f, "990290008E08FA855A5D4C50A8ED9000"))
	f.Add(unhex(f, "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000"))
	f.Add([]byte{0x69, 0x88})
	f.Add([]byte{0x87, 0x82, 0xFF, 0xFF, 0x90, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := apdu.ParseResponse(b)
		if err != nil {
			return
		}
		s := &Session{Keys: Keys{Enc: make([]byte, 16), MAC: make([]byte, 16)}}
		_, _ = s.Unwrap(r)
		c := &Session{Keys: Keys{Enc: make([]byte, 16), MAC: make([]byte, 16)}}
		_, _ = c.UnwrapCommand(apdu.Command{CLA: 0x0C, INS: 0xB0, Data: r.Data, Le: 0})
	})
}

func TestUnpad(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{{"0180000000000000", true}, {"8000000000000000", true}, {"0000000000000000", false}, {"01020304050607FF", false}, {"", false}} {
		_, err := Unpad(unhex(t, c.in))
		if (err == nil) != c.ok {
			t.Errorf("Unpad(%s) err=%v, want ok=%v", c.in, err, c.ok)
		}
	}
}
