package kiosk_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The contract documents live beside the code that owns them and are the
// single source (issue 12). These tests read the code as code (go/parser):
// what it registers is derived from the registrations themselves, not from
// a list kept here, and compared both ways with the document's tables.

// root is the repository's root, seen from this package's directory.
const root = ".."

// goFiles parses the non-test Go files of dir (relative to root), or the
// single file when dir names one.
func goFiles(t *testing.T, paths ...string) []*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	var files []*ast.File
	for _, p := range paths {
		full := filepath.Join(root, p)
		names := []string{full}
		if fi, err := os.Stat(full); err != nil {
			t.Fatal(err)
		} else if fi.IsDir() {
			names, _ = filepath.Glob(filepath.Join(full, "*.go"))
		}
		for _, n := range names {
			if strings.HasSuffix(n, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, n, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	return files
}

// routes are the patterns registered with Handle or HandleFunc (net/http's
// ServeMux, or a Server that passes them on) as string literals.
func routes(t *testing.T, paths ...string) []string {
	t.Helper()
	var out []string
	for _, f := range goFiles(t, paths...) {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				p, _ := strconv.Unquote(lit.Value)
				out = append(out, p)
			}
			return true
		})
	}
	return sorted(out)
}

// consts are the values of the string constants whose name matches name
// (and, when typ is not "", that are declared with that type, or follow
// one that is in the same block).
func consts(t *testing.T, name *regexp.Regexp, typ string, paths ...string) []string {
	t.Helper()
	var out []string
	for _, f := range goFiles(t, paths...) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				vs := s.(*ast.ValueSpec)
				if typ != "" {
					id, ok := vs.Type.(*ast.Ident)
					if !ok || id.Name != typ {
						continue
					}
				}
				for i, n := range vs.Names {
					if !name.MatchString(n.Name) || i >= len(vs.Values) {
						continue
					}
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						out = append(out, v)
					}
				}
			}
		}
	}
	return sorted(out)
}

func sorted(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// section is the text of a document under its "## title" heading, up to
// the next heading of that level; the whole document when title is "".
func section(t *testing.T, doc, title string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, doc))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if title == "" {
		return s
	}
	at := strings.Index(s, "\n## "+title+"\n")
	if at < 0 {
		t.Fatalf("%s has no section %q", doc, "## "+title)
	}
	s = s[at+len(title)+5:]
	if end := strings.Index(s, "\n## "); end >= 0 {
		s = s[:end]
	}
	return s
}

// rowKeys are the first cells of a section's table rows when they are
// code: "| `name` | ...".
func rowKeys(s string) []string {
	var out []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([^`]+)` \\|").FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return sorted(out)
}

// same reports what is in code but not in doc, and the reverse.
func same(t *testing.T, what, doc string, code, documented []string) {
	t.Helper()
	if len(code) == 0 {
		t.Errorf("%s: found none in the code: has it moved? Point this test at its new place", what)
	}
	for _, c := range code {
		if !slices.Contains(documented, c) {
			t.Errorf("%s: %q is in the code but not in %s", what, c, doc)
		}
	}
	for _, d := range documented {
		if !slices.Contains(code, d) {
			t.Errorf("%s: %s lists %q, which the code does not have", what, doc, d)
		}
	}
}

func TestProtocolDocumented(t *testing.T) {
	const doc = "ui/PROTOCOL.md"
	same(t, "WebSocket message types", doc,
		consts(t, regexp.MustCompile(`^Type[A-Z]`), "", "ui/protocol.go"), rowKeys(section(t, doc, "Messages")))
	same(t, "input fields", doc,
		consts(t, regexp.MustCompile(`^Field[A-Z]`), "", "kiosk/flow", "kiosk/session", "kiosk/maint"),
		rowKeys(section(t, doc, "Input fields")))
	// Screens: the flows' (flow.Screen constants) and the maintenance
	// menu's ("maintenance_" + its maint.Screen constants).
	screens := consts(t, regexp.MustCompile(`.`), "Screen", "kiosk/flow")
	for _, m := range consts(t, regexp.MustCompile(`.`), "Screen", "kiosk/maint") {
		screens = append(screens, "maintenance_"+m)
	}
	same(t, "screens", doc, sorted(screens), rowKeys(section(t, doc, "Screens")))
	same(t, "spoken prompt routes", doc, routes(t, "kiosk/speech"), rowKeys(section(t, doc, "Spoken prompts")))
}

func TestManagementAPIDocumented(t *testing.T) {
	const doc = "kiosk/mgmt/API.md"
	code := routes(t, "kiosk/mgmt", "kiosk/daemon/simcontrol.go", "kiosk/cmd/kioskd/cmd_vprinter.go", "kiosk/fleet/control.go")
	same(t, "management, sim, vprinter and fleet-sim routes", doc, code, rowKeys(section(t, doc, "")))
}

func TestCentralAPIDocumented(t *testing.T) {
	const doc = "kiosk/central/API.md"
	documented := append(rowKeys(section(t, doc, "Routes")), rowKeys(section(t, doc, "central-sim"))...)
	same(t, "central API and central-sim routes", doc, routes(t, "kiosk/central"), sorted(documented))
}
