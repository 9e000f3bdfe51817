package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load reads the config file at path over Default. Any problem (syntax,
// wrong type, unknown key, invalid value) makes it fail with *Problems
// naming every problem found, each with its key and line.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load for bytes already read; name is used in errors.
func Parse(name string, data []byte) (Config, error) {
	c := Default()
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		// A syntax or type error stops the decoder: report it alone, with
		// the line the decoder gives.
		return Config{}, &Problems{File: name, List: []Problem{decodeProblem(err)}}
	}
	lines := keyLines(data)
	var ps []Problem
	for _, k := range md.Undecoded() {
		key := k.String()
		msg := "unknown key" + suggest(key)
		if to, ok := moved[key]; ok {
			msg = "unknown key: " + to
		}
		ps = append(ps, Problem{Key: key, Line: lines.find(key), Msg: msg})
	}
	for _, p := range c.Validate() {
		p.Line = lines.find(p.Key)
		ps = append(ps, p)
	}
	if len(ps) > 0 {
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
		return Config{}, &Problems{File: name, List: ps}
	}
	return c, nil
}

// CheckFiles is Config.CheckFiles with each problem's line in data, the
// file c was loaded from (nil: no lines). It returns *Problems, or nil.
func CheckFiles(name string, data []byte, c Config) error {
	ps := c.CheckFiles()
	if len(ps) == 0 {
		return nil
	}
	lines := keyLines(data)
	for i := range ps {
		ps[i].Line = lines.find(ps[i].Key)
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	return &Problems{File: name, List: ps}
}

// moved names where keys of earlier versions went.
var moved = map[string]string{
	"receipt.agency":          "the agency is set per language now: receipt.zh-CN.agency, receipt.vi.agency, receipt.en.agency",
	"receipt.location":        "the location is set per language now: receipt.zh-CN.location, receipt.vi.location, receipt.en.location",
	"receipt.replacement_fee": "the fee is set per language now, as each language writes it: receipt.zh-CN.fee (\"10 元\"), receipt.vi.fee (\"10 nhân dân tệ\"), receipt.en.fee (\"10 yuan\")",
}

// typeErr matches the decoder's type errors, which are not ParseErrors:
// `toml: line 2 (last key "terminal_no"): incompatible types: ...`.
var typeErr = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// decodeProblem turns the decoder's error into a Problem with key and line.
func decodeProblem(err error) Problem {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		key := pe.LastKey
		if key == "" {
			key = "(syntax)"
		}
		return Problem{Key: key, Line: pe.Position.Line, Msg: pe.Message}
	}
	if m := typeErr.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{Key: m[2], Line: line, Msg: m[3]}
	}
	return Problem{Key: "(file)", Msg: err.Error()}
}

// lineIndex maps dotted keys (tables and keys) to the first line that
// defines them. BurntSushi/toml keeps key positions private, so this reads
// the table headers and "key =" lines itself; it only locates keys the
// decoder already accepted, so it need not be a full TOML parser.
type lineIndex map[string]int

func keyLines(data []byte) lineIndex {
	idx := lineIndex{}
	table := ""
	arrays := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[["):
			name := cleanKey(strings.TrimSuffix(strings.SplitN(line[2:], "]]", 2)[0], "]]"))
			table = fmt.Sprintf("%s[%d]", name, arrays[name])
			arrays[name]++
			idx.add(name, n)
			idx.add(table, n)
		case strings.HasPrefix(line, "["):
			table = cleanKey(strings.SplitN(line[1:], "]", 2)[0])
			idx.add(table, n)
		default:
			eq := strings.Index(line, "=")
			if eq <= 0 {
				continue
			}
			key := cleanKey(line[:eq])
			if table != "" {
				key = table + "." + key
			}
			idx.add(key, n)
		}
	}
	return idx
}

func (idx lineIndex) add(key string, line int) {
	if _, ok := idx[key]; !ok {
		idx[key] = line
	}
}

// find returns the line of key, or of its closest enclosing table.
func (idx lineIndex) find(key string) int {
	for k := key; k != ""; {
		if n, ok := idx[k]; ok {
			return n
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

func cleanKey(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// suggest names the known key an unknown one was probably meant to be.
func suggest(key string) string {
	last := key[strings.LastIndex(key, ".")+1:]
	best, bestD := "", 3
	for _, k := range knownKeys() {
		if d := distance(last, k[strings.LastIndex(k, ".")+1:]); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// knownKeys lists every dotted key of the example file.
func knownKeys() []string {
	keys := make([]string, 0, 64)
	for k := range keyLines(Example) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// distance is the Levenshtein distance of two short keys.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
