package emrtd

import (
	"errors"
	"fmt"
)

// ErrBACFailed means the chip refused Basic Access Control: the document
// number, birth date or expiry date do not belong to this card. Its message
// is meant for the citizen.
var ErrBACFailed = errors.New("the ID card did not accept the document number, birth date or expiry date — check them and try again")

// ErrPassiveAuth is matched (errors.Is) by every *PassiveAuthError: what was
// read cannot be shown to be what the issuer signed.
var ErrPassiveAuth = errors.New("passive authentication failed")

// ErrNotEMRTD means the card has no ICAO eMRTD application.
var ErrNotEMRTD = errors.New("the card is not an electronic ID card or passport (no eMRTD application)")

// PassiveAuthError says which data group (0 for EF.SOD itself) failed
// passive authentication and why. It never carries the data.
type PassiveAuthError struct {
	DataGroup int
	Reason    string
}

func (e *PassiveAuthError) Error() string {
	what := "EF.SOD"
	if e.DataGroup > 0 {
		what = fmt.Sprintf("DG%d", e.DataGroup)
	}
	return fmt.Sprintf("%v: %s: %s", ErrPassiveAuth, what, e.Reason)
}

// Is makes errors.Is(err, ErrPassiveAuth) true.
func (e *PassiveAuthError) Is(target error) bool { return target == ErrPassiveAuth }
