// Package mask hides personal data before it is shown on a receipt, a
// screen after confirmation, or a log line. It owns only the masking rules;
// it does not decide where masking is needed (callers do) and it does not
// validate the values it masks.
package mask

// Placeholder is the character that replaces each hidden rune.
const Placeholder = '*'

// Name keeps the first character of a person's name and masks every other
// one, rune by rune, so "张三" becomes "张*" and "Nguyễn An" becomes
// "N********". Spaces are masked too: the length of each name part is not
// shown. A one-character name is masked entirely.
func Name(s string) string {
	r := []rune(s)
	if len(r) == 0 {
		return ""
	}
	out := make([]rune, len(r))
	for i := range r {
		out[i] = Placeholder
	}
	if len(r) > 1 {
		out[0] = r[0]
	}
	return string(out)
}

// Number masks an ID or card number: at most the first 3 and the last 4
// characters stay visible, and at least half of the characters are always
// masked, so "110101199003071234" becomes "110***********1234" and
// "A12345678" becomes "A1*****78".
func Number(s string) string {
	r := []rune(s)
	n := len(r)
	if n == 0 {
		return ""
	}
	visible := min(7, n/2)
	suffix := min(4, (visible+1)/2)
	prefix := min(3, visible-suffix)
	out := make([]rune, n)
	for i := range r {
		if i < prefix || i >= n-suffix {
			out[i] = r[i]
		} else {
			out[i] = Placeholder
		}
	}
	return string(out)
}
