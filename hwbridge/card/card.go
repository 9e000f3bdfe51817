// Package card tells the terminal's cards apart: Identify says whether the
// card in a reader is an ID card or passport chip (package emrtd) or a
// social security card (package sscard), by selecting each one's
// application, for the maintenance menu's reader test. It reads nothing
// personal and authenticates nothing; the drivers in emrtd and sscard do
// that, over the APDU layer in apdu.
package card

import (
	"context"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card/apdu"
	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
	"github.com/kioskd/kioskd/hwbridge/card/sscard"
)

// Type is what kind of card a reader holds, in the words of the
// maintenance menu's reader test.
type Type string

const (
	EMRTD   Type = "emrtd"   // the eMRTD LDS application (ICAO 9303-10)
	SSCard  Type = "ss_card" // the social security card's DDF1
	Unknown Type = "unknown" // neither answered its SELECT
)

// Identify selects the eMRTD application, then the social security card's
// DDF1, each by name with no answer data asked (SELECT P2 0C), and returns
// the first the card accepts (9000, or 61XX offering its FCI). A card that
// accepts neither, or does not answer, is Unknown; the error is ctx's
// when it ended meanwhile.
func Identify(ctx context.Context, c hwbridge.Card) (Type, error) {
	selects := func(aid []byte) bool {
		r, err := apdu.Transmit(ctx, c, apdu.Command{INS: apdu.INSSelect, P1: 0x04, P2: 0x0C, Data: aid, Le: -1})
		return err == nil && (r.SW1 == 0x90 || r.SW1 == 0x61)
	}
	t := Unknown
	switch {
	case selects(emrtd.AID):
		t = EMRTD
	case selects(sscard.AID):
		t = SSCard
	}
	return t, ctx.Err()
}
