package sscard_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kioskd/kioskd/hwbridge/card/sscard"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
)

// Read a social security card and check its PIN. The card here is the
// simulated one; on a terminal it is the hwbridge.Card the reader
// supervisor hands over when a card is inserted.
func Example() {
	profile, err := cardsim.LoadProfile("../../sim/cardsim/testdata/ss_zhangsan.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	sim, err := cardsim.New(profile, cardsim.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	card := cardsim.Direct(sim)
	defer card.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := sscard.Read(ctx, card)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(h.Name, h.Gender, h.BirthDate, h.CardNumber, h.ExpiryDate)

	var wrong *sscard.WrongPIN
	switch err := sscard.VerifyPIN(ctx, card, "000000"); {
	case errors.As(err, &wrong):
		fmt.Println("wrong PIN, tries left:", wrong.TriesLeft)
	case errors.Is(err, sscard.ErrPINBlocked):
		fmt.Println("PIN blocked")
	case err != nil:
		fmt.Println(err)
	}
	// Output:
	// 张三 1 19900307 A12345678 20300101
	// wrong PIN, tries left: 2
}
