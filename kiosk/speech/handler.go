package speech

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"
)

// The page's audio routes (README, "Speech and a keypad"):
//
//	GET /speech/tone.wav                      the PIN digit tone
//	GET /speech/{lang}/k/{key}.wav[?n=N]      a catalogue text, {n} replaced by N (digits)
//	GET /speech/{lang}/spell/{c}.wav          one typed character (letter, digit or <)
//	GET /speech/{lang}/data/voucher.wav       the current screen's voucher, spelled
//	GET /speech/{lang}/data/row/{label}.wav   a row of the current screen (label a catalogue key)
//	GET /speech/{lang}/data/card/{index}.wav  a card to choose on the confirm screen
//
// Data routes speak only what the current screen shows, numbers as masked
// as it shows them, names only with SpeakNames; they are synthesised for
// the request and never cached. 404: no such text; 503: no espeak-ng.

// nameRows are rows that hold a person's name.
var nameRows = map[string]bool{"row.name": true, "row.agent": true}

// spellRows are rows that hold a (masked) number, spoken one character at a
// time.
var spellRows = map[string]bool{"row.id_number": true, "row.card": true, "row.subject_id": true}

var (
	keyPattern   = regexp.MustCompile(`^[a-z][a-z0-9_.\-]{0,63}$`)
	digitsN      = regexp.MustCompile(`^[0-9]{1,4}$`)
	spellPattern = regexp.MustCompile(`^[0-9A-Z<]$`)
)

// screenData is what the data routes read of a screen (ui/static/app.js's
// contract with kiosk/session's render.go).
type screenData struct {
	Voucher string `json:"voucher"`
	Rows    []struct {
		Label string `json:"label"`
		Value string `json:"value"`
		T     bool   `json:"t"`
	} `json:"rows"`
	Cards []struct {
		Number string `json:"number"`
		State  string `json:"state"`
		Index  string `json:"index"`
	} `json:"cards"`
}

// Handler serves the audio routes. current returns the data of the screen
// on the page now (ui.Server.Current).
func (s *Synth) Handler(current func() map[string]any) http.Handler {
	mux := http.NewServeMux()
	tone := Tone(880, 120*time.Millisecond)
	mux.HandleFunc("GET /speech/tone.wav", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/wav")
		w.Header().Set("Cache-Control", "no-store") // from the disk cache, on loopback: cheap; every prompt is a request
		w.Write(tone)
	})
	mux.HandleFunc("GET /speech/{lang}/k/{file}", func(w http.ResponseWriter, r *http.Request) {
		lang, key, ok := s.route(w, r)
		if !ok {
			return
		}
		n := r.URL.Query().Get("n")
		if n != "" && !digitsN.MatchString(n) {
			http.Error(w, "n must be 1 to 4 digits", http.StatusBadRequest)
			return
		}
		text, found := s.Text(lang, key, n)
		if !found || strings.Contains(text, "{") {
			http.Error(w, "no such text", http.StatusNotFound)
			return
		}
		s.serveFile(w, r, lang, text)
	})
	mux.HandleFunc("GET /speech/{lang}/spell/{file}", func(w http.ResponseWriter, r *http.Request) {
		lang, c, ok := s.route(w, r)
		if !ok {
			return
		}
		c = strings.ToUpper(c)
		if !spellPattern.MatchString(c) {
			http.Error(w, "one letter, digit or < only", http.StatusNotFound)
			return
		}
		s.serveFile(w, r, lang, c)
	})
	data := func(w http.ResponseWriter, r *http.Request, text func(lang string, d screenData) (string, bool)) {
		lang, ok := s.lang(w, r)
		if !ok {
			return
		}
		var d screenData
		b, _ := json.Marshal(current())
		json.Unmarshal(b, &d)
		t, found := text(lang, d)
		if !found || t == "" {
			http.Error(w, "not on the screen", http.StatusNotFound)
			return
		}
		s.serveRendered(w, r, lang, t)
	}
	mux.HandleFunc("GET /speech/{lang}/data/voucher.wav", func(w http.ResponseWriter, r *http.Request) {
		data(w, r, func(lang string, d screenData) (string, bool) {
			return s.Spell(lang, d.Voucher), d.Voucher != ""
		})
	})
	mux.HandleFunc("GET /speech/{lang}/data/row/{file}", func(w http.ResponseWriter, r *http.Request) {
		label := strings.TrimSuffix(r.PathValue("file"), ".wav")
		data(w, r, func(lang string, d screenData) (string, bool) {
			for _, row := range d.Rows {
				if row.Label != label {
					continue
				}
				return s.rowText(lang, row.Label, row.Value, row.T), true
			}
			return "", false
		})
	})
	mux.HandleFunc("GET /speech/{lang}/data/card/{file}", func(w http.ResponseWriter, r *http.Request) {
		index := strings.TrimSuffix(r.PathValue("file"), ".wav")
		data(w, r, func(lang string, d screenData) (string, bool) {
			for _, c := range d.Cards {
				if c.Index == index {
					state, _ := s.Text(lang, "card.state."+c.State, "")
					return s.Spell(lang, c.Number) + ". " + state, true
				}
			}
			return "", false
		})
	})
	return sameOrigin(mux)
}

// rowText is a row as spoken: a translated value, a masked number spelled,
// a name only when names may be spoken, anything else as shown.
func (s *Synth) rowText(lang, label, value string, translated bool) string {
	switch {
	case translated:
		t, _ := s.Text(lang, value, "")
		return t
	case nameRows[label] && !s.cfg.SpeakNames:
		t, _ := s.Text(lang, "speech.not_spoken", "")
		return t
	case spellRows[label]:
		return s.Spell(lang, value)
	}
	return value
}

// sameOrigin refuses requests a browser marks as coming from another site
// (Sec-Fetch-Site): the data routes speak the current citizen's screen.
func sameOrigin(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Sec-Fetch-Site") {
		case "", "same-origin", "none":
			h.ServeHTTP(w, r)
		default:
			http.Error(w, "cross-site request refused", http.StatusForbidden)
		}
	})
}

func (s *Synth) lang(w http.ResponseWriter, r *http.Request) (string, bool) {
	lang := r.PathValue("lang")
	if _, ok := s.cats[lang]; !ok {
		http.Error(w, "unknown language", http.StatusNotFound)
		return "", false
	}
	if s.bin == "" {
		http.Error(w, ErrUnavailable.Error(), http.StatusServiceUnavailable)
		return "", false
	}
	return lang, true
}

func (s *Synth) route(w http.ResponseWriter, r *http.Request) (lang, name string, ok bool) {
	lang, ok = s.lang(w, r)
	if !ok {
		return "", "", false
	}
	file := r.PathValue("file")
	name, wav := strings.CutSuffix(file, ".wav")
	if !wav || (!keyPattern.MatchString(name) && !spellPattern.MatchString(strings.ToUpper(name))) {
		http.Error(w, "not a prompt", http.StatusNotFound)
		return "", "", false
	}
	return lang, name, true
}

func (s *Synth) serveFile(w http.ResponseWriter, r *http.Request, lang, text string) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout+5*time.Second)
	defer cancel()
	path, err := s.File(ctx, lang, text)
	if err != nil {
		s.fail(w, err)
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-store") // from the disk cache, on loopback: cheap; every prompt is a request
	w.Write(b)
}

func (s *Synth) serveRendered(w http.ResponseWriter, r *http.Request, lang, text string) {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout+5*time.Second)
	defer cancel()
	b, err := s.Render(ctx, lang, text)
	if err != nil {
		s.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

func (s *Synth) fail(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrUnavailable) {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	// The error names the voice and espeak-ng's complaint, never the text.
	s.log.Error("speech synthesis failed", "err", err)
	http.Error(w, "speech synthesis failed", http.StatusInternalServerError)
}
