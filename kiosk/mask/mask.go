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

// Numbers masks, with Number, every ID- or card-number-like word in free
// text (a run of letters and digits holding at least five digits), for
// text from outside, such as the central system's rejection reasons, that
// may echo a number back. Names in free text cannot be told apart and stay.
func Numbers(text string) string {
	r := []rune(text)
	out := make([]rune, 0, len(r))
	for i := 0; i < len(r); {
		j := i
		digits := 0
		for j < len(r) && isAlnum(r[j]) {
			if r[j] >= '0' && r[j] <= '9' {
				digits++
			}
			j++
		}
		if j == i {
			out = append(out, r[i])
			i++
			continue
		}
		word := string(r[i:j])
		if digits >= 5 {
			word = Number(word)
		}
		out = append(out, []rune(word)...)
		i = j
	}
	return string(out)
}

func isAlnum(c rune) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
