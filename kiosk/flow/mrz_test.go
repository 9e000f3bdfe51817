package flow

import (
	"errors"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
)

// ICAO 9303 specimens (part 5 appendix, part 4 appendix).
const (
	td1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
	td3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
)

func TestParseMRZ(t *testing.T) {
	specimen := BACKey{DocNumber: "L898902C3", BirthDate: "740812", ExpiryDate: "120415"}
	long := "D23145890123"
	overflow := "I<UTO" + long[:9] + "<" + long[9:] + string(emrtd.CheckDigit(long))
	overflow += strings.Repeat("<", 30-len(overflow))
	tests := []struct {
		in   string
		want BACKey
	}{
		{td1, BACKey{DocNumber: "D23145890", BirthDate: "740812", ExpiryDate: "120415"}},
		{td3, specimen},
		{strings.ReplaceAll(td3, "\n", ""), specimen},
		{strings.ToLower(td3), specimen},
		{withComposite(overflow + td1[31:]), BACKey{DocNumber: long, BirthDate: "740812", ExpiryDate: "120415"}},
	}
	for _, tt := range tests {
		got, err := ParseMRZ(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseMRZ(%.20q…) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	bad := map[string]string{
		"doc check":    strings.Replace(td3, "L898902C36", "L898902C35", 1),
		"doc typo":     strings.Replace(td3, "L898902C36", "L898912C36", 1),
		"birth check":  strings.Replace(td3, "7408122F", "7408123F", 1),
		"expiry check": strings.Replace(td3, "1204159Z", "1204158Z", 1),
		"length":       td3[:80],
		"character":    strings.Replace(td3, "ERIKSSON", "ERIK-SON", 1),
		"empty":        "",
		"bad date":     mrzWithDates("741312", "120415"),
	}
	for name, in := range bad {
		if _, err := ParseMRZ(in); !errors.Is(err, ErrMRZ) {
			t.Errorf("%s: error %v, want ErrMRZ", name, err)
		} else if strings.Contains(err.Error(), "L898902C3") {
			t.Errorf("%s: error echoes the document number", name)
		}
	}
}

// mrzWithDates builds a TD3 MRZ whose check digits are right for any dates.
func mrzWithDates(birth, expiry string) string {
	l2 := "L898902C36UTO" + birth + string(emrtd.CheckDigit(birth)) + "F" + expiry + string(emrtd.CheckDigit(expiry)) + "ZE184226B<<<<<10"
	return td3[:44] + l2
}

func TestMRZInput(t *testing.T) {
	s := walk(t, Policy{}, pDoc)
	n, effs, err := Next(s, in(FieldMRZ, td3))
	if err != nil || n.Step != StepPlaceID || effs != nil || n.BAC.DocNumber != "L898902C3" {
		t.Fatalf("step %s effects %v err %v BAC %+v", n.Step, effs, err, n.BAC)
	}
	if _, _, err := Next(s, in(FieldMRZ, td3[:50])); err == nil {
		t.Fatal("short MRZ accepted")
	}
	if _, _, err := Next(walk(t, Policy{}, pBirth), in(FieldMRZ, td3)); !errors.Is(err, ErrRefused) {
		t.Fatalf("MRZ after the document number: %v, want refused", err)
	}
}

func FuzzParseMRZ(f *testing.F) {
	f.Add(td1)
	f.Add(td3)
	f.Add(strings.Repeat("<", 90))
	f.Add(strings.Repeat("<", 72))
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseMRZ(s)
		if err != nil {
			if !errors.Is(err, ErrMRZ) {
				t.Fatalf("error %v does not wrap ErrMRZ", err)
			}
			return
		}
		if CheckYYMMDD(k.BirthDate) != "" || CheckYYMMDD(k.ExpiryDate) != "" {
			t.Fatalf("accepted dates %+v", k)
		}
		if _, code := CheckDocNumber(k.DocNumber); code != "" {
			t.Fatalf("accepted document number %q", k.DocNumber)
		}
	})
}

// withComposite sets the composite check digit of a TD1 MRZ (ICAO 9303
// part 5, 4.2.2) after a test changed its first line.
func withComposite(mrz string) string {
	z := strings.ReplaceAll(mrz, "\n", "")
	l1, l2, l3 := z[:30], z[30:60], z[60:]
	c := emrtd.CheckDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
	return l1 + "\n" + l2[:29] + string(c) + "\n" + l3
}
