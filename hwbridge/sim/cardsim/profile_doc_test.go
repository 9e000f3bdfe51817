package cardsim

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/card/emrtd"
)

// jsonFields are the JSON names of a struct's fields, from their tags.
func jsonFields(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// PROFILE.md is the card profile's single source: every field ParseProfile
// reads (Profile's and emrtd.DG13's JSON tags) is in its tables, under its
// section, and the tables list nothing else.
func TestProfileDocumented(t *testing.T) {
	b, err := os.ReadFile("PROFILE.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	dg13At := strings.Index(doc, "### `dg13`")
	if dg13At < 0 {
		t.Fatal("PROFILE.md has no ### `dg13` section")
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)` \\|")
	documented := func(s string) []string {
		var out []string
		for _, m := range row.FindAllStringSubmatch(s, -1) {
			if !slices.Contains(out, m[1]) {
				out = append(out, m[1])
			}
		}
		slices.Sort(out)
		return out
	}
	for _, c := range []struct {
		what      string
		code, doc []string
	}{
		{"card profile fields", jsonFields(reflect.TypeFor[Profile]()), documented(doc[:dg13At])},
		{"dg13 fields", jsonFields(reflect.TypeFor[emrtd.DG13]()), documented(doc[dg13At:])},
	} {
		for _, f := range c.code {
			if !slices.Contains(c.doc, f) {
				t.Errorf("%s: %q is read by the code but not in PROFILE.md", c.what, f)
			}
		}
		for _, f := range c.doc {
			if !slices.Contains(c.code, f) {
				t.Errorf("%s: PROFILE.md lists %q, which the code does not read", c.what, f)
			}
		}
	}
}
