// Package speech owns the terminal's spoken prompts: it runs espeak-ng (a
// subprocess with a bounded time, never a shell) to turn the page's
// catalogue texts (ui/static/i18n) into WAV files cached in a directory,
// builds that cache at start in parallel, synthesises dynamic texts (the
// voucher and masked numbers, spelled character by character) on demand
// without storing them, and serves both over HTTP for the page's <audio>
// element (Handler). It decides what of a screen may be spoken: numbers as
// masked as the screen shows them, names only when SpeakNames is set.
//
// It knows no flows and no devices; it reads the current screen the page
// server holds. Without espeak-ng it logs one warning and stays silent.
package speech

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Voices are the espeak-ng voices of the page's languages.
var Voices = map[string]string{"zh-CN": "cmn", "vi": "vi", "en": "en-us"}

// ErrUnavailable is returned when espeak-ng is not installed.
var ErrUnavailable = errors.New("speech unavailable: espeak-ng not found")

// Config configures a Synth. Binary, Rate, Timeout and Parallel get
// defaults when zero.
type Config struct {
	Binary     string        // espeak-ng, looked up on PATH
	Dir        string        // the WAV cache
	Rate       int           // words per minute (default 150)
	Timeout    time.Duration // one espeak-ng run (default 10 s)
	Parallel   int           // concurrent runs while building the cache (default: the cores)
	Languages  []string      // default every language with a voice
	SpeakNames bool          // a holder's name may be spoken
	Logger     *slog.Logger
}

// Synth synthesises and caches prompts.
type Synth struct {
	cfg  Config
	bin  string // resolved espeak-ng; "" when missing
	log  *slog.Logger
	cats map[string]map[string]string // lang → key → text

	mu       sync.Mutex
	inflight map[string]*call // cache file → the run producing it
	sem      chan struct{}    // bounds concurrent espeak-ng runs
}

type call struct {
	done chan struct{}
	err  error
}

// New loads the catalogues (i18n/<lang>.json in catalogues) and looks for
// espeak-ng. A missing espeak-ng is not an error: New logs one warning and
// the Synth answers ErrUnavailable.
func New(cfg Config, catalogues fs.FS) (*Synth, error) {
	if cfg.Binary == "" {
		cfg.Binary = "espeak-ng"
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 150
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = runtime.NumCPU()
	}
	if len(cfg.Languages) == 0 {
		cfg.Languages = []string{"zh-CN", "vi", "en"}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Synth{cfg: cfg, log: log, cats: map[string]map[string]string{}, inflight: map[string]*call{},
		sem: make(chan struct{}, max(cfg.Parallel, 2))}
	for _, l := range cfg.Languages {
		if Voices[l] == "" {
			return nil, fmt.Errorf("speech: no voice for language %q", l)
		}
		b, err := fs.ReadFile(catalogues, "i18n/"+l+".json")
		if err != nil {
			return nil, fmt.Errorf("speech: catalogue %s: %w", l, err)
		}
		var c map[string]string
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("speech: catalogue %s: %w", l, err)
		}
		s.cats[l] = c
	}
	if bin, err := exec.LookPath(cfg.Binary); err == nil {
		s.bin = bin
	} else {
		log.Warn("speech mode is silent: espeak-ng not found (apt-get install espeak-ng)", "binary", cfg.Binary)
	}
	return s, nil
}

// Available reports whether espeak-ng was found.
func (s *Synth) Available() bool { return s.bin != "" }

// Text is the catalogue text of key in lang with {n} replaced by n (when
// n is not ""), and whether the key exists.
func (s *Synth) Text(lang, key, n string) (string, bool) {
	t, ok := s.cats[lang][key]
	if !ok {
		return "", false
	}
	if n != "" {
		t = strings.ReplaceAll(t, "{n}", n)
	}
	return t, true
}

// cacheName is the file a text is cached in: a hash of everything that
// changes the sound, so a changed text or voice is synthesised again.
func (s *Synth) cacheName(lang, text string) string {
	h := sha256.Sum256([]byte(lang + "\x00" + Voices[lang] + "\x00" + strconv.Itoa(s.cfg.Rate) + "\x00" + text))
	return hex.EncodeToString(h[:16]) + ".wav"
}

// File returns the cached WAV of text in lang, synthesising it first when
// it is not cached. Only texts that are not personal data may be cached.
func (s *Synth) File(ctx context.Context, lang, text string) (string, error) {
	if s.bin == "" {
		return "", ErrUnavailable
	}
	name := s.cacheName(lang, text)
	path := filepath.Join(s.cfg.Dir, name)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	s.mu.Lock()
	c, running := s.inflight[name]
	if !running {
		c = &call{done: make(chan struct{})}
		s.inflight[name] = c
	}
	s.mu.Unlock()
	if running {
		select {
		case <-c.done:
			return path, c.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	c.err = s.store(ctx, lang, text, path)
	s.mu.Lock()
	delete(s.inflight, name)
	s.mu.Unlock()
	close(c.done)
	return path, c.err
}

func (s *Synth) store(ctx context.Context, lang, text, path string) error {
	wav, err := s.Render(ctx, lang, text)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("speech cache: %w", err)
	}
	tmp, err := os.CreateTemp(s.cfg.Dir, ".tmp-*.wav")
	if err != nil {
		return fmt.Errorf("speech cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(wav); err != nil {
		tmp.Close()
		return fmt.Errorf("speech cache: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("speech cache: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("speech cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("speech cache: %w", err)
	}
	return nil
}

// Render synthesises text in lang into a WAV in memory; nothing is
// written to disk. The text goes to espeak-ng on its standard input, never
// through a shell or its argument list.
func (s *Synth) Render(ctx context.Context, lang, text string) ([]byte, error) {
	if s.bin == "" {
		return nil, ErrUnavailable
	}
	voice := Voices[lang]
	if voice == "" {
		return nil, fmt.Errorf("speech: no voice for language %q", lang)
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, "-v", voice, "-s", strconv.Itoa(s.cfg.Rate), "--stdin", "--stdout")
	cmd.Stdin = strings.NewReader(text + "\n")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("espeak-ng (%s): no answer within %s", voice, s.cfg.Timeout)
		}
		// espeak-ng's stderr names its problem (a missing voice); it never
		// holds the text, which went to its stdin.
		return nil, fmt.Errorf("espeak-ng (%s): %w: %s", voice, err, strings.TrimSpace(errb.String()))
	}
	wav, err := FixHeader(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("espeak-ng (%s): %w", voice, err)
	}
	return wav, nil
}

// Prompt is one catalogue text to cache.
type Prompt struct{ Lang, Key, Text string }

// Prompts are every citizen's catalogue text that can be spoken as it is:
// every key of every language but those with a placeholder ({n}), which
// are synthesised on demand with their value, and the technicians' menu
// (maint.*), which is not spoken.
func (s *Synth) Prompts() []Prompt {
	var ps []Prompt
	for _, l := range s.cfg.Languages {
		keys := make([]string, 0, len(s.cats[l]))
		for k := range s.cats[l] {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			t := s.cats[l][k]
			if strings.Contains(t, "{") || strings.TrimSpace(t) == "" || strings.HasPrefix(k, "maint.") {
				continue
			}
			ps = append(ps, Prompt{Lang: l, Key: k, Text: t})
		}
	}
	return ps
}

// Stats describes a cache build.
type Stats struct {
	Prompts     int   // texts in the catalogues
	Synthesised int   // of them not cached before
	Removed     int   // cached files no text uses any more
	Bytes       int64 // the cache's size after the build
	Duration    time.Duration
}

// BuildCache synthesises every prompt not yet cached, Parallel at a time,
// then removes cached files that no catalogue text produces any more. It
// returns the first error after trying every prompt.
func (s *Synth) BuildCache(ctx context.Context) (Stats, error) {
	if s.bin == "" {
		return Stats{}, ErrUnavailable
	}
	start := time.Now()
	ps := s.Prompts()
	st := Stats{Prompts: len(ps)}
	want := map[string]bool{}
	var todo []Prompt
	for _, p := range ps {
		name := s.cacheName(p.Lang, p.Text)
		if want[name] {
			continue
		}
		want[name] = true
		if _, err := os.Stat(filepath.Join(s.cfg.Dir, name)); err != nil {
			todo = append(todo, p)
		}
	}
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan Prompt)
	)
	for range min(s.cfg.Parallel, max(len(todo), 1)) {
		wg.Go(func() {
			for p := range next {
				if _, err := s.File(ctx, p.Lang, p.Text); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s %s: %w", p.Lang, p.Key, err)
					}
					mu.Unlock()
					continue
				}
				mu.Lock()
				st.Synthesised++
				mu.Unlock()
			}
		})
	}
feed:
	for _, p := range todo {
		select {
		case next <- p:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	entries, _ := os.ReadDir(s.cfg.Dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".wav") || e.IsDir() {
			continue
		}
		if !want[e.Name()] {
			// A text changed or a value-bearing prompt ({n}) from an earlier
			// run: synthesised again when needed.
			if os.Remove(filepath.Join(s.cfg.Dir, e.Name())) == nil {
				st.Removed++
			}
			continue
		}
		if fi, err := e.Info(); err == nil {
			st.Bytes += fi.Size()
		}
	}
	st.Duration = time.Since(start)
	return st, firstErr
}

// Spell is chars as spoken one by one: each letter or digit separated by a
// pause, a run of mask characters ('*') as the catalogue's "hidden",
// spaces and group separators dropped.
func (s *Synth) Spell(lang, chars string) string {
	hidden := s.cats[lang]["speech.hidden"]
	var parts []string
	masked := false
	for _, r := range chars {
		switch {
		case r == '*' || r == '●':
			if !masked {
				parts = append(parts, hidden)
			}
			masked = true
			continue
		case r == ' ' || r == '-' || r == '\u00a0':
			continue
		}
		masked = false
		parts = append(parts, string(r))
	}
	sep := ", "
	if lang == "zh-CN" {
		sep = "，"
	}
	return strings.Join(parts, sep)
}
