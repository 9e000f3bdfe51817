package simreader_test

import (
	"context"
	"fmt"

	"github.com/kioskd/kioskd/hwbridge"
	"github.com/kioskd/kioskd/hwbridge/card/sscard"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
	"github.com/kioskd/kioskd/hwbridge/sim/simreader"
)

// A simulated social security card reader: insert a card made from a
// profile (what POST /v1/sim/reader/ss/insert does), see the event, read the
// card with the same driver the PC/SC readers use.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readers := simreader.New(hwbridge.SlotID, hwbridge.SlotSS)
	done := make(chan error)
	go func() { done <- readers.Run(ctx) }()

	p, err := cardsim.LoadProfile("../cardsim/testdata/ss_zhangsan.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	card, err := cardsim.New(p, cardsim.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	readers.Insert(hwbridge.SlotSS, card)
	for ev := range readers.Events() {
		fmt.Println(ev.Kind, ev.Slot)
		if ev.Kind == hwbridge.CardInserted {
			break
		}
	}
	c, err := readers.Connect(ctx, hwbridge.SlotSS)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	h, err := sscard.Read(ctx, c)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("card type", h.CardType, "spec", h.SpecVersion)
	cancel()
	<-done
	// Output:
	// reader_added id
	// reader_added ss
	// card_inserted ss
	// card type 3 spec 3.00
}
