package flow

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A scanned receipt on the voucher screen asks the session to check it;
// the voucher its token carries is the one shown.
func TestLookupByScannedReceipt(t *testing.T) {
	s := walk(t, Policy{}, pVoucher)
	s2, effs, err := Next(s, in(FieldReceipt, "https://x/lookup?token=abc"))
	if err != nil || s2.Step != StepLookingUp || len(effs) != 1 || effs[0].Kind != LookupVoucher || effs[0].Scan != "https://x/lookup?token=abc" || effs[0].Voucher != "" {
		t.Fatalf("scan: step %s, effects %+v, %v", s2.Step, effs, err)
	}
	sv := &SignedVoucher{Valid: true, KioskID: "K-A", Voucher: "000070000425", Created: time.Unix(1, 0)}
	s3, _, err := Next(s2, Intent{Kind: LookedUp, Seq: s2.Seq, Lookup: LookupResult{Found: true, Signed: sv}})
	if err != nil || s3.Step != StepLookupResult || s3.Voucher != "000070000425" || s3.Lookup.Signed != sv {
		t.Fatalf("result: step %s, voucher %q, %v", s3.Step, s3.Voucher, err)
	}
	for _, bad := range []string{"", strings.Repeat("x", MaxScan+1)} {
		_, _, err := Next(s, in(FieldReceipt, bad))
		var ie *InputError
		if !errors.As(err, &ie) || ie.Code != "invalid_receipt" {
			t.Fatalf("scan of %d characters: %v", len(bad), err)
		}
	}
}
