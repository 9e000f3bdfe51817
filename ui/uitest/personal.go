package uitest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// AssertNone fails t (without stopping it) for every datum of personal
// that v holds. A string is searched as it is; anything else as its JSON
// and its Go syntax (%#v), so unexported fields count too. what names v in
// the failure ("the daemon's log", "done screen").
func AssertNone(t testing.TB, what string, v any, personal []string) {
	t.Helper()
	var s string
	switch x := v.(type) {
	case string:
		s = x
	default:
		b, _ := json.Marshal(v)
		s = fmt.Sprintf("%s %#v", b, v)
	}
	for _, p := range personal {
		if p != "" && strings.Contains(s, p) {
			t.Errorf("%s holds %q", what, p)
		}
	}
}
