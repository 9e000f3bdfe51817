package apdu_test

import (
	"context"
	"fmt"
	"time"

	"github.com/kioskd/kioskd/hwbridge/card/apdu"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
)

// Select an application and read a record, letting Exchange deal with a
// card that wants a different Le (6CXX).
func ExampleExchange() {
	p, err := cardsim.LoadProfile("../../sim/cardsim/testdata/ss_zhangsan.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	sim, err := cardsim.New(p, cardsim.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	card := cardsim.Direct(sim)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	aid := []byte("sx1.sh.\xC9\xE7\xBB\xE1\xB1\xA3\xD5\xCF") // "sx1.sh." + GBK 社会保障
	for _, c := range []apdu.Command{
		{INS: apdu.INSSelect, P1: 0x04, Data: aid, Le: 0},
		{INS: apdu.INSSelect, P1: 0x02, Data: []byte{0xEF, 0x05}, Le: -1},
		{INS: apdu.INSReadRecord, P1: 0x03, Le: 0}, // the card answers 6C06 first
	} {
		r, err := apdu.Exchange(ctx, card, c)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%v -> %04X [% X]\n", c, r.SW(), r.Data)
	}
	// Output:
	// APDU{CLA 00 INS A4 P1 04 P2 00 Lc 15 Le 0} -> 9000 [6F 11 84 0F 73 78 31 2E 73 68 2E C9 E7 BB E1 B1 A3 D5 CF]
	// APDU{CLA 00 INS A4 P1 02 P2 00 Lc 2 Le -1} -> 9000 []
	// APDU{CLA 00 INS B2 P1 03 P2 00 Lc 0 Le 0} -> 9000 [03 04 33 2E 30 30]
}
