package central

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// This file turns central's answers (status + body) into results. The
// functions are pure so that FuzzDecodeAnswer can drive them with anything.

// errDuplicateNoRef: central answered 409 duplicate without repeating its
// reference; Submit then asks GET /v1/operations/{key}.
var errDuplicateNoRef = errors.New("central: duplicate without central_ref")

// maxRef bounds a central reference: it is stored and printed.
const maxRef = 256

type ackBody struct {
	CentralRef string `json:"central_ref"`
	State      string `json:"state"`
}

type errorBody struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	CentralRef string `json:"central_ref"`
	State      string `json:"state"`
}

func malformed(status int, what string, err error) error {
	if err != nil {
		return fmt.Errorf("%w: status %d: %s: %v", ErrMalformedAnswer, status, what, err)
	}
	return fmt.Errorf("%w: status %d: %s", ErrMalformedAnswer, status, what)
}

// decodeAck reads {central_ref, state} from a 2xx answer.
func decodeAck(status int, body []byte) (Ack, error) {
	var a ackBody
	if err := json.Unmarshal(body, &a); err != nil {
		return Ack{}, malformed(status, "body is not a JSON object {central_ref, state}", err)
	}
	if a.CentralRef == "" {
		return Ack{}, malformed(status, "central_ref missing", nil)
	}
	if len(a.CentralRef) > maxRef || !printable(a.CentralRef) || !printable(a.State) {
		return Ack{}, malformed(status, "central_ref or state too long or not printable", nil)
	}
	if a.State == "" {
		a.State = "accepted"
	}
	return Ack(a), nil
}

// decodeSubmit interprets the answer to POST /v1/operations.
func decodeSubmit(status int, body []byte) (Ack, error) {
	switch {
	case status >= 200 && status < 300:
		return decodeAck(status, body)
	case status == http.StatusConflict:
		var e errorBody
		if json.Unmarshal(body, &e) == nil && e.Code == "duplicate" {
			if e.CentralRef == "" {
				return Ack{}, errDuplicateNoRef
			}
			if len(e.CentralRef) > maxRef || !printable(e.CentralRef) || !printable(e.State) {
				return Ack{}, malformed(status, "duplicate: central_ref or state too long or not printable", nil)
			}
			if e.State == "" {
				e.State = "accepted"
			}
			return Ack{CentralRef: e.CentralRef, State: e.State}, nil
		}
	}
	return Ack{}, decodeError(status, body)
}

// decodeOperation interprets the answer to GET /v1/operations/{key}.
// Only central's own 404 (with its {code, message} body) means unknown.
func decodeOperation(status int, body []byte) (Ack, error) {
	switch {
	case status == http.StatusOK:
		return decodeAck(status, body)
	case status == http.StatusNotFound && fromCentral(body):
		return Ack{}, ErrUnknownOperation
	}
	return Ack{}, decodeError(status, body)
}

// decodeVoucher interprets the answer to GET /v1/vouchers/{voucher}. Only
// central's own 404 (with its {code, message} body) means unknown.
func decodeVoucher(status int, body []byte) (VoucherState, error) {
	switch {
	case status == http.StatusOK:
		var v VoucherState
		if err := json.Unmarshal(body, &v); err != nil {
			return VoucherState{}, malformed(status, "body is not a JSON voucher object", err)
		}
		if v.State == "" || !printable(v.State) || !printable(v.CentralRef) || !printable(v.Kind) || !printable(v.Voucher) {
			return VoucherState{}, malformed(status, "voucher state missing or not printable", nil)
		}
		return v, nil
	case status == http.StatusNotFound && fromCentral(body):
		return VoucherState{}, ErrUnknownVoucher
	}
	return VoucherState{}, decodeError(status, body)
}

// decodePersonCards interprets the answer to POST /v1/persons/cards.
func decodePersonCards(status int, body []byte) ([]PersonCard, error) {
	if status != http.StatusOK {
		return nil, decodeError(status, body)
	}
	var cards []PersonCard
	if err := json.Unmarshal(body, &cards); err != nil {
		return nil, malformed(status, "body is not a JSON array of {card_number, state}", err)
	}
	if cards == nil {
		return nil, malformed(status, "body is null, want an array", nil)
	}
	for i, c := range cards {
		if c.CardNumber == "" || !printable(c.CardNumber) || !printable(c.State) {
			return nil, malformed(status, fmt.Sprintf("card %d: card_number missing or not printable", i), nil)
		}
	}
	return cards, nil
}

// decodeNoContent interprets answers whose success carries no data
// (OTP request 202, heartbeat 204).
func decodeNoContent(status int, body []byte) error {
	if status >= 200 && status < 300 {
		return nil
	}
	return decodeError(status, body)
}

// decodeVerify interprets the answer to POST /v1/otp/verify: central's own
// 403 (with its {code, message} body) refuses the code.
func decodeVerify(status int, body []byte) (bool, error) {
	switch {
	case status == http.StatusOK, status == http.StatusNoContent:
		return true, nil
	case status == http.StatusForbidden && fromCentral(body):
		return false, nil
	}
	return false, decodeError(status, body)
}

// fromCentral reports whether an error answer's body is central's own
// {code, message} JSON (API.md, "Errors and retries"): an object with a
// non-empty string code. A reverse proxy, a TLS gateway or a load balancer
// in front of central answers with HTML, plain text, an empty body or JSON
// of its own shape, never with central's code.
func fromCentral(body []byte) bool {
	var e struct {
		Code *string `json:"code"`
	}
	return json.Unmarshal(body, &e) == nil && e.Code != nil && *e.Code != ""
}

// decodeError turns a non-success answer into a *Rejection or a
// *ServerError. Only central's own refusal is permanent: a 4xx whose body
// is central's {code, message}. 408 and 429 say "later", so they are
// transient even from central. A 4xx without central's body (a proxy's
// 401/403/404/405/407/413/421, HTML or empty) is transient and marked
// Foreign: something between the terminal and central answered, and the
// operation must wait until central itself can. A body that is not
// {code, message} still yields a clear error, with the code "http_<status>".
func decodeError(status int, body []byte) error {
	var e errorBody
	central := fromCentral(body)
	if !central || json.Unmarshal(body, &e) != nil {
		e = errorBody{Message: snippet(body)}
	}
	code := clean(e.Code, 64)
	if code == "" {
		code = fmt.Sprintf("http_%d", status)
	}
	msg := clean(e.Message, 512)
	is4xx := status >= 400 && status < 500
	if is4xx && central && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
		return &Rejection{Status: status, Code: code, Message: msg}
	}
	return &ServerError{Status: status, Code: code, Message: msg, Foreign: is4xx && !central}
}

// maxRetryAfter bounds a Retry-After before the drainer caps it with its
// own maximum backoff, so that no arithmetic on it overflows.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After header (RFC 9110 10.2.3): a number
// of seconds, or an HTTP date which is compared with now. Anything else,
// and a date in the past, is 0 (no wait asked for).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 64); err == nil {
		if n > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), maxRetryAfter)
}

// snippet keeps the start of a non-JSON body for the error message.
func snippet(b []byte) string {
	const n = 120
	s := string(b)
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}

// clean makes s safe to store and show: valid UTF-8, no control
// characters, at most max bytes.
func clean(s string, max int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > max {
		cut := max
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func printable(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
