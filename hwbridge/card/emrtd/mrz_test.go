package emrtd

import (
	"errors"
	"strings"
	"testing"
)

// Specimens of ICAO Doc 9303 part 5 (TD1, figure "Ms Anna Maria Eriksson")
// and part 4 (TD3).
const (
	specimenTD1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n" +
		"7408122F1204159UTO<<<<<<<<<<<6\n" +
		"ERIKSSON<<ANNA<MARIA<<<<<<<<<<"
	// Part 6 specimen.
	specimenTD2 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\n" +
		"D231458907UTO7408122F1204159<<<<<<<6"
	specimenTD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n" +
		"L898902C36UTO7408122F1204159ZE184226B<<<<<10"
)

func TestParseMRZSpecimens(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want MRZ
	}{
		{"TD1", specimenTD1, MRZ{Format: "TD1", DocumentCode: "I", Issuer: "UTO", DocumentNumber: "D23145890",
			Surname: "ERIKSSON", GivenNames: "ANNA MARIA", Nationality: "UTO", BirthDate: "740812", Sex: "F", ExpiryDate: "120415"}},
		{"TD1 one line, lower case, CRLF", strings.ToLower(strings.ReplaceAll(specimenTD1, "\n", "\r\n")), MRZ{Format: "TD1", DocumentCode: "I", Issuer: "UTO", DocumentNumber: "D23145890",
			Surname: "ERIKSSON", GivenNames: "ANNA MARIA", Nationality: "UTO", BirthDate: "740812", Sex: "F", ExpiryDate: "120415"}},
		{"TD3", specimenTD3, MRZ{Format: "TD3", DocumentCode: "P", Issuer: "UTO", DocumentNumber: "L898902C3",
			Surname: "ERIKSSON", GivenNames: "ANNA MARIA", Nationality: "UTO", BirthDate: "740812", Sex: "F", ExpiryDate: "120415",
			OptionalData1: "ZE184226B"}},
		{"TD2", specimenTD2, MRZ{Format: "TD2", DocumentCode: "I", Issuer: "UTO", DocumentNumber: "D23145890",
			Surname: "ERIKSSON", GivenNames: "ANNA MARIA", Nationality: "UTO", BirthDate: "740812", Sex: "F", ExpiryDate: "120415"}},
		{"TD3 joined", strings.ReplaceAll(specimenTD3, "\n", ""), MRZ{Format: "TD3", DocumentCode: "P", Issuer: "UTO", DocumentNumber: "L898902C3",
			Surname: "ERIKSSON", GivenNames: "ANNA MARIA", Nationality: "UTO", BirthDate: "740812", Sex: "F", ExpiryDate: "120415",
			OptionalData1: "ZE184226B"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMRZ(tt.in)
			if err != nil {
				t.Fatalf("ParseMRZ: %v", err)
			}
			if got != tt.want {
				t.Errorf("ParseMRZ =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// TestParseMRZEveryDigitChecked changes each digit of the specimens, one at
// a time, and expects a check digit error every time.
func TestParseMRZEveryDigitChecked(t *testing.T) {
	for _, spec := range []string{specimenTD1, specimenTD2, specimenTD3, vnTD1(t)} {
		n := NormalizeMRZ(spec)
		digits := 0
		for i := 0; i < len(n); i++ {
			if n[i] < '0' || n[i] > '9' {
				continue
			}
			digits++
			b := []byte(n)
			b[i] = '0' + (b[i]-'0'+1)%10
			_, err := ParseMRZ(string(b))
			var me *MRZError
			if !errors.As(err, &me) {
				t.Errorf("%s position %d changed: got %v, want an *MRZError", n[:5], i+1, err)
				continue
			}
			// A changed month or day can also make the date invalid
			// before its check digit is looked at; both name the field.
			if !errors.Is(err, ErrCheckDigit) && !strings.Contains(me.Reason, "date") {
				t.Errorf("%s position %d changed: %v, want a check digit error", n[:5], i+1, err)
			}
		}
		if digits < 20 {
			t.Fatalf("only %d digits in %q", digits, n)
		}
	}
}

func vnTD1(t testing.TB) string {
	l1 := "IDVNM090012345"
	l1 += string(CheckDigit("090012345")) + "001090012345<<<"
	l2 := "900307" + string(CheckDigit("900307")) + "M" + "300307" + string(CheckDigit("300307")) + "VNM" + "<<<<<<<<<<<"
	l2 += string(CheckDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]))
	l3 := "NGUYEN<<VAN<AN<<<<<<<<<<<<<<<<"
	return l1 + "\n" + l2 + "\n" + l3
}

func TestParseMRZVietnamese(t *testing.T) {
	m, err := ParseMRZ(vnTD1(t))
	if err != nil {
		t.Fatal(err)
	}
	want := MRZ{Format: "TD1", DocumentCode: "ID", Issuer: "VNM", DocumentNumber: "090012345", Surname: "NGUYEN", GivenNames: "VAN AN",
		Nationality: "VNM", BirthDate: "900307", Sex: "M", ExpiryDate: "300307", OptionalData1: "001090012345"}
	if m != want {
		t.Errorf("got %+v\nwant %+v", m, want)
	}
}

func TestParseMRZLongDocumentNumber(t *testing.T) {
	// Part 5, note j: a 12-character number spills into the optional data,
	// and position 15 holds a filler.
	l1 := "I<UTOD23145890<734" + string(CheckDigit("D23145890734")) + "<<<<<<<<<<<"
	l2 := "7408122F1204159UTO<<<<<<<<<<<"
	l2 += string(CheckDigit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]))
	m, err := ParseMRZ(l1 + l2 + "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
	if err != nil {
		t.Fatal(err)
	}
	if m.DocumentNumber != "D23145890734" || m.OptionalData1 != "" {
		t.Errorf("document number %q optional %q", m.DocumentNumber, m.OptionalData1)
	}
	k := KeyFromMRZ(m)
	if got := k.MRZInfo(); got != "D23145890734"+string(CheckDigit("D23145890734"))+"7408122"+"1204159" {
		t.Errorf("mrzInfo = %q", got)
	}
}

func TestParseMRZErrorsNameTheField(t *testing.T) {
	td3 := NormalizeMRZ(specimenTD3)
	tests := []struct {
		name, in, field string
	}{
		{"empty", "", "length"},
		{"too short", td3[:87], "length"},
		{"bad char", td3[:10] + "!" + td3[11:], "text"},
		{"bad sex", td3[:64] + "Q" + td3[65:], "sex"},
		{"bad month", strings.Replace(td3, "7408122", "7413122", 1), "birth date"},
		{"document check", strings.Replace(td3, "L898902C36", "L898902C37", 1), "document number"},
		{"composite", td3[:87] + "1", "composite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMRZ(tt.in)
			var me *MRZError
			if !errors.As(err, &me) || me.Field != tt.field {
				t.Fatalf("got %v, want an error about %q", err, tt.field)
			}
			if strings.Contains(err.Error(), "L898902C") || strings.Contains(err.Error(), "ERIKSSON") {
				t.Errorf("error %q leaks MRZ data", err)
			}
		})
	}
}

func TestBACKeyValidate(t *testing.T) {
	good := BACKey{DocumentNumber: "L898902C3", BirthDate: "740812", ExpiryDate: "120415"}
	if err := good.Validate(); err != nil {
		t.Fatalf("good key: %v", err)
	}
	unknownDay := BACKey{DocumentNumber: "L898902C3", BirthDate: "7408<<", ExpiryDate: "120415"}
	if err := unknownDay.Validate(); err != nil {
		t.Errorf("birth date with an unknown day, as the MRZ prints it: %v", err)
	}
	for _, k := range []BACKey{
		{DocumentNumber: "", BirthDate: "740812", ExpiryDate: "120415"},
		{DocumentNumber: "L89 8902", BirthDate: "740812", ExpiryDate: "120415"},
		{DocumentNumber: "L898902C3", BirthDate: "7408", ExpiryDate: "120415"},
		{DocumentNumber: "L898902C3", BirthDate: "741312", ExpiryDate: "120415"},
		{DocumentNumber: "L898902C3", BirthDate: "740812", ExpiryDate: "12041A"},
	} {
		if err := k.Validate(); err == nil {
			t.Errorf("%+v accepted", k)
		}
	}
	// Appendix D.2 of part 11: the MRZ information of the worked example.
	d := BACKey{DocumentNumber: "L898902C", BirthDate: "690806", ExpiryDate: "940623"}
	if got := d.MRZInfo(); got != "L898902C<369080619406236" {
		t.Errorf("mrzInfo = %q, want L898902C<369080619406236", got)
	}
}

func FuzzParseMRZ(f *testing.F) {
	f.Add(specimenTD1)
	f.Add(specimenTD3)
	f.Add(specimenTD2)
	f.Add(vnTD1(f))
	f.Add("I<UTOD23145890<7349<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
	f.Add(strings.Repeat("<", 90))
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMRZ(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			return
		}
		if m.Format != "TD1" && m.Format != "TD2" && m.Format != "TD3" {
			t.Errorf("format %q", m.Format)
		}
		if m.DocumentNumber == "" {
			t.Error("parsed with an empty document number")
		}
	})
}

// The name is shown the way the issuing state writes it: DG1's primary
// identifier is the surname, first for Vietnam and China, last elsewhere.
func TestFullNameOrder(t *testing.T) {
	vn, err := ParseMRZ("IDVNM0900123450001090012345<<<\n9003071F3003079VNM<<<<<<<<<<<3\nNGUYEN<<THI<HONG<NHUNG<<<<<<<<")
	if err != nil {
		t.Fatal(err)
	}
	uto, err := ParseMRZ(specimenTD3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    MRZ
		want string
	}{
		{"Vietnamese CCCD", vn, "NGUYEN THI HONG NHUNG"},
		{"Chinese passport", MRZ{Issuer: "CHN", Surname: "ZHANG", GivenNames: "SAN"}, "ZHANG SAN"},
		{"Chinese passport of a foreign-born holder", MRZ{Issuer: "CHN", Nationality: "CHN", Surname: "LI", GivenNames: "XIAO MING"}, "LI XIAO MING"},
		{"ICAO specimen (Utopia)", uto, "ANNA MARIA ERIKSSON"},
		{"French ID, Vietnamese-born holder", MRZ{Issuer: "FRA", Nationality: "FRA", Surname: "NGUYEN", GivenNames: "VAN AN"}, "VAN AN NGUYEN"},
		{"surname only", MRZ{Issuer: "VNM", Surname: "NGUYEN"}, "NGUYEN"},
		{"given names only", MRZ{Issuer: "UTO", GivenNames: "ANNA"}, "ANNA"},
	} {
		if got := tc.m.FullName(); got != tc.want {
			t.Errorf("%s: FullName() = %q, want %q", tc.name, got, tc.want)
		}
	}
}
