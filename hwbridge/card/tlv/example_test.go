package tlv_test

import (
	"fmt"

	"github.com/kioskd/kioskd/hwbridge/card/tlv"
)

// Build a DG1-like object (61 { 5F1F <MRZ> }) and find the MRZ in it again.
func Example() {
	dg1 := tlv.Encode(0x61, tlv.Encode(0x5F1F, []byte("P<UTOERIKSSON<<ANNA<MARIA")))
	objs, err := tlv.Parse(dg1)
	if err != nil {
		fmt.Println(err)
		return
	}
	mrz, ok := tlv.Find(objs, 0x61, 0x5F1F)
	fmt.Println(ok, string(mrz.Value))
	fmt.Printf("% X\n", dg1[:5])

	_, err = tlv.Parse([]byte{0x61, 0x05, 0x5F})
	fmt.Println(err)
	// Output:
	// true P<UTOERIKSSON<<ANNA<MARIA
	// 61 1C 5F 1F 19
	// tlv: malformed data: at offset 0: tag 61 says 5 value bytes but only 1 remain
}
