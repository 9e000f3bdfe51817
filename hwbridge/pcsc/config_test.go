package pcsc

import (
	"errors"
	"slices"
	"testing"

	"github.com/kioskd/kioskd/hwbridge"
)

func TestSlotsFor(t *testing.T) {
	cfg := Config{Slots: map[hwbridge.Slot][]string{
		hwbridge.SlotSS: {"ACS ACR39", "dual"},
		hwbridge.SlotID: {"acr1252", "DUAL"},
	}}
	tests := []struct {
		reader string
		want   []hwbridge.Slot
	}{
		{"ACS ACR39U ICC Reader 00 00", []hwbridge.Slot{hwbridge.SlotSS}},
		{"ACS ACR1252 1S CL Reader [ACR1252 PICC] 01 00", []hwbridge.Slot{hwbridge.SlotID}},
		{"Identiv Dual Interface 00 00", []hwbridge.Slot{hwbridge.SlotID, hwbridge.SlotSS}},
		{"Virtual PCD 00 00", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := cfg.slotsFor(tt.reader); !slices.Equal(got, tt.want) {
			t.Errorf("slotsFor(%q) = %v, want %v", tt.reader, got, tt.want)
		}
	}
	// The terminal's default patterns against reader names as pcscd gives
	// them: a contactless reader is not taken for the contact slot because
	// "contact" is in "Contactless", nor a PICC interface because "icc" is
	// in "PICC"; an HID reader is not an ID reader for the "id" in "HID".
	def := Config{Slots: map[hwbridge.Slot][]string{
		hwbridge.SlotID: {"contactless", "picc"},
		hwbridge.SlotSS: {"contact", "icc"},
	}}
	for reader, want := range map[string][]hwbridge.Slot{
		"SCM Microsystems Inc. SCL011 Contactless Reader [SCL011] 00 00": {hwbridge.SlotID},
		"ACS ACR1281 1S Dual Reader [ACR1281 1S Dual Reader PICC] 00 00": {hwbridge.SlotID},
		"ACS ACR1281 1S Dual Reader [ACR1281 1S Dual Reader ICC] 01 00":  {hwbridge.SlotSS},
		"ACS ACR39U ICC Reader 00 00":                                    {hwbridge.SlotSS},
		"Generic Smart Card Contact Reader 00 00":                        {hwbridge.SlotSS},
		"HID Global OMNIKEY 5422 Smartcard Reader [OMNIKEY 5422] 00 00":  nil,
	} {
		if got := def.slotsFor(reader); !slices.Equal(got, want) {
			t.Errorf("default patterns: slotsFor(%q) = %v, want %v", reader, got, want)
		}
	}
	empty := Config{Slots: map[hwbridge.Slot][]string{hwbridge.SlotSS: {""}}}
	if got := empty.slotsFor("anything"); got != nil {
		t.Errorf("an empty pattern matched: %v", got)
	}
}

func TestCheckResponse(t *testing.T) {
	for _, rsp := range [][]byte{nil, {}, {0x90}} {
		if _, err := checkResponse(rsp); !errors.Is(err, ErrShortResponse) {
			t.Errorf("checkResponse(% X) = %v, want ErrShortResponse", rsp, err)
		}
	}
	if got, err := checkResponse([]byte{0x90, 0x00}); err != nil || len(got) != 2 {
		t.Errorf("checkResponse(90 00) = % X, %v", got, err)
	}
}

func TestTransmitTimeoutDefault(t *testing.T) {
	if got := (Config{}).transmitTimeout(); got != DefaultTransmitTimeout {
		t.Errorf("default transmit timeout = %v", got)
	}
}
