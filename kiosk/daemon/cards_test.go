package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/kioskd/kioskd/kiosk/central"
	"github.com/kioskd/kioskd/kiosk/flow"
	"github.com/kioskd/kioskd/kiosk/op"
)

// A card already reported lost is shown as lost (issue 12). Central (here
// the embedded central-sim) says "loss_reported" for it; the session
// renders only active, suspended and lost, so the citizen who came back
// for the same card was shown "unknown".
func TestCardReportedLostAtCentralShowsLost(t *testing.T) {
	e := runDaemon(t)
	ctx := context.Background()
	card := central.SimCardNumber(vnID)
	cards := sessionCentral{e.d.client}
	before, err := cards.PersonCards(ctx, vnID)
	if err != nil || len(before) != 1 || before[0].Number != card {
		t.Fatalf("cards before the report: %+v, %v; want the one card %s", before, err, card)
	}
	if _, err := (sessionOutbox{e.d}).Commit(ctx, flow.Operation{
		Kind:       op.ReportLoss,
		Subject:    flow.Person{IDNumber: vnID, Name: vnName, BirthDate: "19900307"},
		CardNumber: card,
		Evidence:   flow.Evidence{Method: "id_chip"},
	}); err != nil {
		t.Fatal(err)
	}
	var after []flow.Card
	eventually(t, 20*time.Second, "central applies the report", func() bool {
		after, err = cards.PersonCards(ctx, vnID)
		return err == nil && len(after) == 1 && after[0].State != before[0].State
	})
	if after[0].State != op.CardLost {
		t.Errorf("card state after a loss report at central: %q; the page knows active, suspended and lost", after[0].State)
	}
}
