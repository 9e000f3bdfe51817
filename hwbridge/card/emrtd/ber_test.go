package emrtd

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestNormalizeBER(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"3003020101", "3003020101"},                    // DER stays
		{"308002010100003003020102", ""},                // trailing object: error
		{"30800201010000", "3003020101"},                // indefinite
		{"3081030201 01", "3003020101"},                 // long form for a short length
		{"30820007 a080 020101 0000", "3005a003020101"}, // nested indefinite in long form, then fixed
		{"0480 0000", ""},                               // indefinite primitive
		{"3080 0201", ""},                               // truncated
		{"30 05 020101", ""},                            // too short
		{"bf8101 03 020101", "bf8101 03 020101"},        // multi-byte tag
		{"3080 3080 3080 0000 0000 0000", "3004 3002 3000"},
	} {
		in, _ := hex.DecodeString(despace(c.in))
		got, err := normalizeBER(in)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: accepted as %X", c.in, got)
			}
			continue
		}
		want, _ := hex.DecodeString(despace(c.want))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %X, %v; want %X", c.in, got, err, want)
		}
	}
}

func despace(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}
