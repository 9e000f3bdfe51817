package op

import "testing"

func TestCardStateFromCentral(t *testing.T) {
	for _, tt := range []struct {
		central string
		want    CardState
	}{
		{"active", CardActive},
		{"suspended", CardSuspended},
		{"loss_reported", CardLost}, // central-sim's word after report_loss (issue 12)
		{"lost", CardLost},
		{"", CardUnknown},
		{"frozen", CardUnknown},
		{"Active", CardUnknown},
	} {
		if got := CardStateFromCentral(tt.central); got != tt.want {
			t.Errorf("CardStateFromCentral(%q) = %q, want %q", tt.central, got, tt.want)
		}
	}
}

// Every kind leaves the card in a state central reports and the page
// knows: what central-sim says after an operation reads back as the
// state the citizen is shown.
func TestEveryKindReadsBack(t *testing.T) {
	want := map[Kind]CardState{ReportLoss: CardLost, SuspendSettlement: CardSuspended, ResumeSettlement: CardActive}
	for _, k := range Kinds() {
		if !k.Valid() {
			t.Errorf("%s is not Valid", k)
		}
		if got := CardStateFromCentral(k.CentralCardState()); got != want[k] {
			t.Errorf("after %s central says %q, read as %q; want %q", k, k.CentralCardState(), got, want[k])
		}
	}
	for _, k := range []Kind{"", "lookup", "maintenance", "REPORT_LOSS"} {
		if k.Valid() {
			t.Errorf("%q is Valid", k)
		}
	}
}

func TestOpStateOf(t *testing.T) {
	for _, tt := range []struct {
		word string
		want OpState
	}{
		// The outbox's words (store.State).
		{"pending", Pending}, {"acknowledged", Acknowledged}, {"rejected", Rejected}, {"damaged", StateUnknown},
		// Central's.
		{"accepted", Acknowledged}, {"applied", Acknowledged}, {"received", Pending}, {"processing", Pending},
		{"cancelled", StateUnknown},
		{"", ""},
	} {
		if got := OpStateOf(tt.word); got != tt.want {
			t.Errorf("OpStateOf(%q) = %q, want %q", tt.word, got, tt.want)
		}
	}
}
