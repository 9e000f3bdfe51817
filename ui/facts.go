package ui

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// Facts are the terminal's configured facts in each language (language →
// name → value): the replacement fee as the language writes it, the
// working days until a new card can be collected, the hotline, the agency
// and the terminal's location. A catalogue text names them as {fee},
// {days}, {hotline}, {agency} and {location}; the page and its speech get
// the texts with the values in place, so what the citizen reads and hears
// is what the receipt prints.
type Facts map[string]map[string]string

// PageFS is the embedded page with facts filled into its catalogues
// (i18n/<lang>.json). Names a language does not give stay as they are.
func PageFS(facts Facts) fs.FS {
	base := StaticFS()
	if len(facts) == 0 {
		return base
	}
	o := overlay{base: base, files: map[string][]byte{}}
	for lang, vals := range facts {
		name := "i18n/" + lang + ".json"
		raw, err := fs.ReadFile(base, name)
		if err != nil {
			continue
		}
		var cat map[string]string
		if json.Unmarshal(raw, &cat) != nil {
			continue
		}
		var pairs []string
		for k, v := range vals {
			pairs = append(pairs, "{"+k+"}", v)
		}
		r := strings.NewReplacer(pairs...)
		for k, v := range cat {
			cat[k] = r.Replace(v)
		}
		b, err := json.MarshalIndent(cat, "", "  ")
		if err != nil {
			continue
		}
		o.files[name] = b
	}
	return o
}

// overlay is base with some files' content replaced.
type overlay struct {
	base  fs.FS
	files map[string][]byte
}

func (o overlay) Open(name string) (fs.File, error) {
	b, ok := o.files[name]
	if !ok {
		return o.base.Open(name)
	}
	return &memFile{Reader: bytes.NewReader(b), name: path.Base(name), size: int64(len(b))}, nil
}

// memFile is a read-only file in memory; it seeks, as http.FileServerFS
// wants for ranges and content types.
type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f.name, f.size}, nil }
func (f *memFile) Close() error               { return nil }

var _ io.Seeker = (*memFile)(nil)

type memInfo struct {
	name string
	size int64
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Size() int64        { return i.size }
func (i memInfo) Mode() fs.FileMode  { return 0o444 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }
