package daemon

import (
	"slices"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/hwbridge/serialprinter"
)

// TestPrintProblems: the technician's queue names what kept a receipt
// from printing as codes the page translates, only what was the case (a
// printer out of paper also reports offline and near end).
func TestPrintProblems(t *testing.T) {
	outOfPaper := escpos.Status{Known: escpos.AllKnown, PaperOut: true, PaperEndStop: true, PaperNearEnd: true}
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{&serialprinter.NotPrintedError{Reason: outOfPaper}, []string{"not_printed", "paper_out"}},
		{&serialprinter.NotPrintedError{Reason: escpos.Status{Known: escpos.AllKnown, Online: true, CoverOpen: true}}, []string{"not_printed", "cover_open"}},
		{&serialprinter.NotPrintedError{Err: serialprinter.ErrDisconnected}, []string{"not_printed", "not_connected"}},
	} {
		if got := printProblems(tc.err.Error()); !slices.Equal(got, tc.want) {
			t.Errorf("%q: %v, want %v", tc.err, got, tc.want)
		}
	}
}
