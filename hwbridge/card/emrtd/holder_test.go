package emrtd

import "testing"

func TestBirthCentury(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"900307", "19900307"},
		{"310101", "19310101"},
		{"300101", "20300101"},
		{"050615", "20050615"},
		{"000229", "20000229"},
		{"9003", "9003"},
		{"<<<<<<", "19<<<<<<"}, // as before the move: not a date, prefixed all the same
	} {
		if got := BirthCentury(tt.in); got != tt.want {
			t.Errorf("BirthCentury(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHolder(t *testing.T) {
	mrz := MRZ{DocumentNumber: "090012345", Surname: "NGUYEN", GivenNames: "VAN AN", BirthDate: "900307"}
	for _, tt := range []struct {
		name string
		doc  Document
		want Holder
	}{
		{"passport: document number", Document{DG1: mrz}, Holder{"090012345", "VAN AN NGUYEN", "19900307"}},
		{"CCCD without DG13: the personal number from the optional data",
			Document{DG1: func() MRZ { m := mrz; m.OptionalData1 = "5001090012345<<<"; return m }()},
			Holder{"001090012345", "VAN AN NGUYEN", "19900307"}},
		{"CCCD with DG13: its number and name",
			Document{DG1: mrz, DG13: &DG13{IDNumber: "001090012399", FullName: "Nguyễn Văn An"}},
			Holder{"001090012399", "Nguyễn Văn An", "19900307"}},
	} {
		if got := tt.doc.Holder(); got != tt.want {
			t.Errorf("%s: Holder() = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
