package flow

import (
	"errors"
	"fmt"
	"testing"

	"github.com/kioskd/kioskd/hwbridge"
)

// TestTypedDocNumber: the document-number step checks the format before a
// card is placed. A 12-digit Vietnamese citizen ID number is what the
// citizen knows: its last 9 digits are the chip's document number. An
// 18-character resident ID number opens no chip and is refused as such.
func TestTypedDocNumber(t *testing.T) {
	tests := []struct {
		in      string
		doc     string
		derived bool
		code    string
	}{
		{"012345678", "012345678", false, ""},
		{"c0000001", "C0000001", false, ""},
		{"001090012345", "090012345", true, ""},
		{"0010 9001 2345", "090012345", true, ""},
		{"110101199003071233", "", false, "doc_is_id_number"},
		{"11010119900307123X", "", false, "doc_is_id_number"},
		{"0123456789", "", false, "invalid_doc_number"},
		{"01234567890123", "", false, "invalid_doc_number"},
		{"", "", false, "invalid_doc_number"},
		{"AB-123", "", false, "invalid_doc_number"},
	}
	for _, tt := range tests {
		doc, derived, code := TypedDocNumber(tt.in)
		if doc != tt.doc || derived != tt.derived || code != tt.code {
			t.Errorf("TypedDocNumber(%q) = %q, %v, %q; want %q, %v, %q", tt.in, doc, derived, code, tt.doc, tt.derived, tt.code)
		}
	}
	// Through the flow: the derived number opens the chip; what was
	// typed is kept to show again.
	s := walk(t, Policy{}, cat(pDoc, in(FieldDocNumber, "001090012345")))
	if s.Step != StepBirthDate || s.BAC.DocNumber != "090012345" || !s.DocDerived || s.DocTyped != "001090012345" {
		t.Errorf("after a 12-digit number: step %s, key %q, derived %v, typed %q", s.Step, s.BAC.DocNumber, s.DocDerived, s.DocTyped)
	}
	if _, _, err := Next(walk(t, Policy{}, pDoc), in(FieldDocNumber, "110101199003071233")); !isInputErr(err, "doc_is_id_number") {
		t.Errorf("18-digit ID number as document number: %v", err)
	}
}

func isInputErr(err error, code string) bool {
	var ie *InputError
	return errors.As(err, &ie) && ie.Code == code
}

// TestFailedReadKeepsTheKey: after a failed ID card read the retry goes
// back to the document number with the three typed fields kept.
func TestFailedReadKeepsTheKey(t *testing.T) {
	s := walk(t, Policy{}, cat(pReadingID, res(IDRead, func(i *Intent) { i.Err = errIO })))
	if s.Step != StepError || s.ErrCode != CodeIDReadFailed || s.Retry != StepDocNumber {
		t.Fatalf("after a failed read: %s %s retry %s", s.Step, s.ErrCode, s.Retry)
	}
	s, _, err := Next(s, ev(Confirm))
	if err != nil || s.Step != StepDocNumber || s.DocTyped != "012345678" || s.BAC.BirthDate != "900307" || s.BAC.ExpiryDate != "300101" {
		t.Errorf("retry: %s, typed %q, key %+v, %v", s.Step, s.DocTyped, s.BAC, err)
	}
}

// TestUnreadableCardGoesToCounter: a card read that fails a second time,
// or fails for a cause that retrying cannot mend, sends the citizen to a
// counter (no retry) instead of another "remove and retry".
func TestUnreadableCardGoesToCounter(t *testing.T) {
	permanent := fmt.Errorf("%w: %w", ErrCardUnreadable, errors.New("passive authentication failed: EF.SOD: the chip has no EF.SOD"))
	// ID card: once, retry; twice, the counter.
	s := walk(t, Policy{}, cat(pReadingID, res(IDRead, func(i *Intent) { i.Err = errIO }), ev(Confirm),
		in(FieldDocNumber, "012345678"), in(FieldBirthDate, "900307"), in(FieldExpiryDate, "300101")))
	if s.Step != StepReadingID {
		t.Fatalf("second read not started: %s", s.Step)
	}
	s, _, err := Next(s, fill(s, res(IDRead, func(i *Intent) { i.Err = errIO })))
	if err != nil || s.Step != StepError || s.ErrCode != CodeIDUnreadable || s.Retry != "" {
		t.Errorf("second failure: %s %s retry %q, %v", s.Step, s.ErrCode, s.Retry, err)
	}
	// At once when the cause is permanent.
	s = walk(t, Policy{}, cat(pReadingID, res(IDRead, func(i *Intent) { i.Err = permanent })))
	if s.Step != StepError || s.ErrCode != CodeIDUnreadable || s.Retry != "" {
		t.Errorf("permanent failure: %s %s retry %q", s.Step, s.ErrCode, s.Retry)
	}
	// The social security card alike.
	readingSS := []Intent{ev(Confirm), start(SuspendSettlement), card(CardInserted, hwbridge.SlotSS)}
	s = walk(t, Policy{}, cat(readingSS, res(SSRead, func(i *Intent) { i.Err = errIO })))
	if s.ErrCode != CodeSSReadFailed || s.Retry != StepPlaceSS {
		t.Errorf("first SS failure: %s retry %q", s.ErrCode, s.Retry)
	}
	s = walk(t, Policy{}, cat(readingSS, res(SSRead, func(i *Intent) { i.Err = errIO }), ev(Confirm), res(SSRead, func(i *Intent) { i.Err = errIO })))
	if s.ErrCode != CodeSSUnreadable || s.Retry != "" {
		t.Errorf("second SS failure: %s retry %q", s.ErrCode, s.Retry)
	}
	s = walk(t, Policy{}, cat(readingSS, res(SSRead, func(i *Intent) { i.Err = permanent })))
	if s.ErrCode != CodeSSUnreadable {
		t.Errorf("permanent SS failure: %s", s.ErrCode)
	}
}
