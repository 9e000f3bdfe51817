// Package config owns kioskd's configuration: one struct with TOML tags and
// doc comments, the embedded default (Default), loading with every problem
// reported at once with its key and line (Load, Check), and the example file
// that documents every setting (example.toml, embedded as Example). It does
// not start anything; kiosk/daemon turns a Config into running parts.
package config

import (
	_ "embed"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kioskd/kioskd/hwbridge/escpos"
	"github.com/kioskd/kioskd/kiosk/maint"
	"github.com/kioskd/kioskd/kiosk/receipt"
)

// Example is the documented example configuration, every setting with its
// default. A test checks that it loads and equals Default.
//
//go:embed example.toml
var Example []byte

// Config is the whole configuration of one terminal.
type Config struct {
	// KioskID names this terminal towards central; part of every idempotency key.
	KioskID string `toml:"kiosk_id"`
	// Site names the hospital or outlet the terminal stands in; ops group
	// alerts and recording rules by it (kioskd_terminal_info{site}).
	Site string `toml:"site"`
	// TerminalNo (0..99999) is the first five digits of every voucher.
	TerminalNo int `toml:"terminal_no"`
	// DataDir holds the bbolt file (kioskd.db) and, by default, the key file.
	DataDir string `toml:"data_dir"`
	// KeyFile holds the 32-byte AES key for personal data at rest; created on
	// first start when missing. Empty: <data_dir>/kioskd.key.
	KeyFile string `toml:"key_file"`
	// Retention is how long personal data stays after central acknowledged.
	Retention Duration `toml:"retention"`
	// SLA is the promise on the receipt: an operation not acknowledged within
	// it raises an alert.
	SLA Duration `toml:"sla"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `toml:"log_level"`

	// SharedProcess (not a config key) is set by kioskd fleet-sim, whose one
	// process runs many terminals: their metrics leave out the go_* and
	// process_* series, which would describe the fleet's process rather
	// than the terminal (and cost each scrape a walk of every descriptor),
	// and the printer's status is polled every 5 s instead of every second.
	SharedProcess bool `toml:"-"`

	UI          UI          `toml:"ui"`
	Mgmt        Mgmt        `toml:"mgmt"`
	Central     Central     `toml:"central"`
	Readers     Readers     `toml:"readers"`
	Printer     Printer     `toml:"printer"`
	Receipt     Receipt     `toml:"receipt"`
	Maintenance Maintenance `toml:"maintenance"`
	Speech      Speech      `toml:"speech"`
}

// UI is the touch page and its WebSocket.
type UI struct {
	Listen          string   `toml:"listen"`
	AllowedOrigins  []string `toml:"allowed_origins"`
	Languages       []string `toml:"languages"`
	DefaultLanguage string   `toml:"default_language"`
	IdleTimeout     Duration `toml:"idle_timeout"`
}

// Mgmt is the management API for central ops and technicians.
type Mgmt struct {
	Listen string `toml:"listen"`
	// TokenFile holds the bearer token required on a non-loopback listener.
	TokenFile string `toml:"token_file"`
	// TLSCert, TLSKey and ClientCA turn on HTTPS with client certificates.
	TLSCert  string `toml:"tls_cert"`
	TLSKey   string `toml:"tls_key"`
	ClientCA string `toml:"client_ca"`
}

// Central is the link to the central system.
type Central struct {
	// URL of the central API; "embedded" runs the central simulator in process.
	URL      string   `toml:"url"`
	CAFile   string   `toml:"ca_file"`
	CertFile string   `toml:"cert_file"`
	KeyFile  string   `toml:"key_file"`
	Timeout  Duration `toml:"timeout"`
	// MinBackoff and MaxBackoff bound the retry delay while central is down.
	MinBackoff Duration `toml:"min_backoff"`
	MaxBackoff Duration `toml:"max_backoff"`
	// PageSize bounds how many queued operations are held in memory at once.
	PageSize          int      `toml:"page_size"`
	HeartbeatInterval Duration `toml:"heartbeat_interval"`
	// OTP is "never" or "when_online": ask for a code sent to the registered
	// phone before a loss report when central is reachable.
	OTP string `toml:"otp"`
}

// Readers are the card readers.
type Readers struct {
	// Mode is "sim" (in-process simulated readers) or "pcsc".
	Mode string `toml:"mode"`
	// ID and SS are reader-name substrings (case-insensitive) mapping
	// readers to the ID card slot and the social security card slot.
	ID              []string `toml:"id"`
	SS              []string `toml:"ss"`
	TransmitTimeout Duration `toml:"transmit_timeout"`
	// CSCAFile holds the country signing CA certificates (PEM, DER or an
	// ICAO master list) for passive authentication of ID cards.
	CSCAFile string `toml:"csca_file"`
}

// Printer is the receipt printer.
type Printer struct {
	// Mode is "sim" (in-process virtual printer) or "serial".
	Mode string `toml:"mode"`
	// Device is the serial device; prefer /dev/serial/by-id/... paths.
	Device string `toml:"device"`
	Baud   int    `toml:"baud"`
	// Flow is "none", "rtscts" or "xonxoff".
	Flow string `toml:"flow"`
	// Paper is 58 or 80 (mm).
	Paper int `toml:"paper"`
	// QR is "native" (GS ( k) or "raster".
	QR string `toml:"qr"`
	// Vietnamese is "cp1258" (printer code table) or "raster".
	Vietnamese string `toml:"vietnamese"`
	// CodeTable is the ESC t table number of CP1258 on this printer model.
	CodeTable int `toml:"code_table"`
	// PollerPort (not a config key) opens the simulated printer's pty with
	// serialprinter.OpenPoller instead of go.bug.st/serial, whose select(2)
	// cannot watch descriptors past 1024: set by kioskd fleet-sim, whose
	// one process holds the devices of a thousand terminals.
	PollerPort bool `toml:"-"`
}

// Receipt is what the receipt and the citizen's screens say besides the
// operation: the next steps' facts, and the terminal's words in each
// language.
type Receipt struct {
	// LookupURL is printed as a QR code; {voucher} is replaced.
	LookupURL string `toml:"lookup_url"`
	// ReplacementDays is how many working days after applying the new card
	// can be collected.
	ReplacementDays int `toml:"replacement_days"`
	// Hotline takes pre-loss reports by phone, 24 hours a day.
	Hotline string `toml:"hotline"`
	// ZH, VI and EN are the texts in each language: the receipt prints
	// the citizen's language, the screens show it.
	ZH ReceiptText `toml:"zh-CN"`
	VI ReceiptText `toml:"vi"`
	EN ReceiptText `toml:"en"`
}

// ReceiptText is one language's words on the receipt and the screens.
type ReceiptText struct {
	// Agency issues the receipt (printed at its top).
	Agency string `toml:"agency"`
	// Location is where the terminal stands.
	Location string `toml:"location"`
	// Fee is the replacement card's fee as the language writes it.
	Fee string `toml:"fee"`
}

// ReceiptLanguages are the languages with receipt texts, as the keys of
// [receipt.<language>] name them.
var ReceiptLanguages = []string{"zh-CN", "vi", "en"}

// ReceiptConfig is the receipt's part of the configuration.
func (c Config) ReceiptConfig() receipt.Config {
	texts := map[string]receipt.Texts{}
	for _, l := range ReceiptLanguages {
		t := c.Receipt.Text(l)
		texts[l] = receipt.Texts{Agency: t.Agency, Location: t.Location, Fee: t.Fee}
	}
	return receipt.Config{
		Texts: texts, LookupURL: c.Receipt.LookupURL, ReplacementDays: c.Receipt.ReplacementDays,
		Hotline: c.Receipt.Hotline, Paper: escpos.Paper(c.Printer.Paper),
	}
}

// Facts are the configured facts the page's texts name ({fee}, {days},
// {hotline}, {agency}, {location}), by language (ui.Facts).
func (c Config) Facts() map[string]map[string]string {
	f := map[string]map[string]string{}
	for _, l := range ReceiptLanguages {
		t := c.Receipt.Text(l)
		f[l] = map[string]string{
			"fee": t.Fee, "agency": t.Agency, "location": t.Location,
			"days": strconv.Itoa(c.Receipt.ReplacementDays), "hotline": c.Receipt.Hotline,
		}
	}
	return f
}

// Text is the receipt text of lang (one of ReceiptLanguages).
func (r Receipt) Text(lang string) ReceiptText {
	switch lang {
	case "zh-CN":
		return r.ZH
	case "vi":
		return r.VI
	}
	return r.EN
}

// Maintenance is the technicians' menu.
type Maintenance struct {
	Technicians []Technician `toml:"technicians"`
	// MaxTries wrong PINs lock the menu for Lockout.
	MaxTries    int      `toml:"max_tries"`
	Lockout     Duration `toml:"lockout"`
	IdleTimeout Duration `toml:"idle_timeout"`
}

// Speech is speech mode for blind and low-vision citizens: prompts
// synthesised with espeak-ng, played through headphones or a handset.
type Speech struct {
	// Enabled offers speech mode (the speaker button, a key of a keypad) and
	// synthesises every catalogue text into CacheDir at start.
	Enabled bool `toml:"enabled"`
	// Binary is the espeak-ng program, a name looked up on PATH or a path.
	Binary string `toml:"binary"`
	// CacheDir holds the WAV cache. Empty: <data_dir>/speech.
	CacheDir string `toml:"cache_dir"`
	// SpeakNames reads the card holder's name aloud; leave it off unless the
	// speech goes to a handset or headphones only.
	SpeakNames bool `toml:"speak_names"`
	// Rate is the speaking rate in words per minute.
	Rate int `toml:"rate"`
	// SynthTimeout bounds one espeak-ng run.
	SynthTimeout Duration `toml:"synth_timeout"`
	// IdleTimeout replaces ui.idle_timeout in speech mode; Warning before it
	// the page says the session is about to end (any key extends it).
	IdleTimeout Duration `toml:"idle_timeout"`
	Warning     Duration `toml:"warning"`
}

// Technician is one technician PIN: an argon2id hash from `kioskd hash-pin`
// and the label the audit log records.
type Technician struct {
	Label   string `toml:"label"`
	PINHash string `toml:"pin_hash"`
}

// Duration is a time.Duration written as "90s", "1h", "720h".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("not a duration (want e.g. \"90s\", \"1h\"): %q", b)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration as Go does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Embedded is the central URL meaning "run the central simulator in process".
const Embedded = "embedded"

// Default is the embedded default (README.md, kioskd run): simulated readers and
// printer, embedded central simulator, data in ./var, UI on 127.0.0.1:8080,
// management API on 127.0.0.1:9100.
func Default() Config {
	return Config{
		KioskID:    "KIOSK-DEV-0001",
		TerminalNo: 1,
		DataDir:    "./var",
		Retention:  Duration{30 * 24 * time.Hour},
		SLA:        Duration{time.Hour},
		LogLevel:   "info",
		UI: UI{
			Listen:          "127.0.0.1:8080",
			AllowedOrigins:  []string{},
			Languages:       []string{"zh-CN", "vi", "en"},
			DefaultLanguage: "zh-CN",
			IdleTimeout:     Duration{60 * time.Second},
		},
		Mgmt: Mgmt{Listen: "127.0.0.1:9100"},
		Central: Central{
			URL:               Embedded,
			Timeout:           Duration{10 * time.Second},
			MinBackoff:        Duration{time.Second},
			MaxBackoff:        Duration{5 * time.Minute},
			PageSize:          256,
			HeartbeatInterval: Duration{time.Minute},
			OTP:               "never",
		},
		Readers: Readers{
			Mode:            "sim",
			ID:              []string{"contactless", "picc"},
			SS:              []string{"contact", "icc"},
			TransmitTimeout: Duration{5 * time.Second},
		},
		Printer: Printer{
			Mode:       "sim",
			Baud:       9600,
			Flow:       "none",
			Paper:      80,
			QR:         "native",
			Vietnamese: "cp1258",
			CodeTable:  52,
		},
		// The facts of the source documents (shared/seeds): the new card
		// is collected 5 working days after applying, for a fee of ten
		// yuan; pre-loss reports by phone on 96102, 24 hours.
		Receipt: Receipt{
			LookupURL:       "https://example.invalid/v/{voucher}",
			ReplacementDays: 5,
			Hotline:         "96102",
			ZH:              ReceiptText{Agency: "社会保障卡服务中心", Location: "1号自助终端", Fee: "10 元"},
			VI:              ReceiptText{Agency: "Dịch vụ thẻ bảo hiểm xã hội", Location: "Máy tự phục vụ số 1", Fee: "10 nhân dân tệ"},
			EN:              ReceiptText{Agency: "Social Security Card Service", Location: "Terminal 1", Fee: "10 yuan"},
		},
		Maintenance: Maintenance{
			MaxTries:    5,
			Lockout:     Duration{15 * time.Minute},
			IdleTimeout: Duration{2 * time.Minute},
		},
		Speech: Speech{
			Enabled:      true,
			Binary:       "espeak-ng",
			Rate:         150,
			SynthTimeout: Duration{10 * time.Second},
			IdleTimeout:  Duration{3 * time.Minute},
			Warning:      Duration{30 * time.Second},
		},
	}
}

// DBPath is the bbolt file in the data directory.
func (c Config) DBPath() string { return filepath.Join(c.DataDir, "kioskd.db") }

// SigningDir holds the terminal's voucher signing keys (package
// kiosk/vouchertoken), one 0600 file per key.
func (c Config) SigningDir() string { return filepath.Join(c.DataDir, "signing") }

// FleetKeysPath is the fleet's public keys as last fetched from central, so
// receipts of other terminals verify while central is unreachable.
func (c Config) FleetKeysPath() string { return filepath.Join(c.DataDir, "fleet-keys.json") }

// KeyPath is the key file: KeyFile, or kioskd.key in the data directory.
func (c Config) KeyPath() string {
	if c.KeyFile != "" {
		return c.KeyFile
	}
	return filepath.Join(c.DataDir, "kioskd.key")
}

// SpeechDir is the WAV cache: Speech.CacheDir, or speech in the data
// directory.
func (c Config) SpeechDir() string {
	if c.Speech.CacheDir != "" {
		return c.Speech.CacheDir
	}
	return filepath.Join(c.DataDir, "speech")
}

// EmbeddedCentral reports whether the central simulator runs in process.
func (c Config) EmbeddedCentral() bool { return c.Central.URL == Embedded }

// Problem is one thing wrong in a config file.
type Problem struct {
	Key  string // dotted key, e.g. "printer.baud"
	Line int    // 1-based; 0 when the key is not in the file
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Key, p.Msg)
	}
	return fmt.Sprintf("%s: %s", p.Key, p.Msg)
}

// Problems is every problem found in one config, in line order.
type Problems struct {
	File string
	List []Problem
}

func (e *Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d problem(s)", e.File, len(e.List))
	for _, p := range e.List {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

var kioskIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Validate returns every problem with c, without line numbers.
func (c Config) Validate() []Problem {
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Site != "" && !kioskIDPattern.MatchString(c.Site) {
		bad("site", "must be empty or 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got %q", c.Site)
	}
	if !kioskIDPattern.MatchString(c.KioskID) {
		bad("kiosk_id", "must be 1-64 letters, digits, '.', '_' or '-' starting with a letter or digit, got %q", c.KioskID)
	}
	if c.TerminalNo < 0 || c.TerminalNo > 99999 {
		bad("terminal_no", "must be 0..99999 (the first five digits of every voucher), got %d", c.TerminalNo)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if c.Retention.Duration < 0 {
		bad("retention", "must not be negative")
	}
	if c.SLA.Duration <= 0 {
		bad("sla", "must be positive")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	checkAddr := func(key, v string) {
		if _, _, err := net.SplitHostPort(v); err != nil {
			bad(key, "must be HOST:PORT, got %q", v)
		}
	}
	checkAddr("ui.listen", c.UI.Listen)
	checkAddr("mgmt.listen", c.Mgmt.Listen)
	known := map[string]bool{"zh-CN": true, "vi": true, "en": true}
	if len(c.UI.Languages) == 0 {
		bad("ui.languages", "must list at least one of zh-CN, vi, en")
	}
	for _, l := range c.UI.Languages {
		if !known[l] {
			bad("ui.languages", "unknown language %q (have zh-CN, vi, en)", l)
		}
	}
	if !contains(c.UI.Languages, c.UI.DefaultLanguage) {
		bad("ui.default_language", "%q is not in ui.languages", c.UI.DefaultLanguage)
	}
	if c.UI.IdleTimeout.Duration < 10*time.Second {
		bad("ui.idle_timeout", "must be at least 10s (the countdown shows the last 10 s), got %s", c.UI.IdleTimeout)
	}
	for _, o := range c.UI.AllowedOrigins {
		u, err := url.Parse(strings.TrimSuffix(o, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			bad("ui.allowed_origins", "%q is not an origin like http://host:port", o)
		}
	}
	ps = append(ps, c.ListenProblems()...)
	if (c.Mgmt.TLSCert == "") != (c.Mgmt.TLSKey == "") {
		bad("mgmt.tls_cert", "tls_cert and tls_key go together")
	}

	if c.Central.URL != Embedded {
		if u, err := url.Parse(c.Central.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("central.url", "must be an http(s) URL or %q, got %q", Embedded, c.Central.URL)
		}
	}
	if (c.Central.CertFile == "") != (c.Central.KeyFile == "") {
		bad("central.cert_file", "cert_file and key_file go together")
	}
	if c.Central.Timeout.Duration <= 0 {
		bad("central.timeout", "must be positive")
	}
	if c.Central.MinBackoff.Duration <= 0 {
		bad("central.min_backoff", "must be positive")
	}
	if c.Central.MaxBackoff.Duration < c.Central.MinBackoff.Duration {
		bad("central.max_backoff", "must be at least min_backoff (%s)", c.Central.MinBackoff)
	}
	if c.Central.PageSize < 1 || c.Central.PageSize > 10000 {
		bad("central.page_size", "must be 1..10000, got %d", c.Central.PageSize)
	}
	if c.Central.HeartbeatInterval.Duration < time.Second {
		bad("central.heartbeat_interval", "must be at least 1s")
	}
	if c.Central.OTP != "never" && c.Central.OTP != "when_online" {
		bad("central.otp", "must be \"never\" or \"when_online\", got %q", c.Central.OTP)
	}
	if c.Readers.Mode != "sim" && c.Readers.Mode != "pcsc" {
		bad("readers.mode", "must be \"sim\" or \"pcsc\", got %q", c.Readers.Mode)
	}
	if c.Readers.Mode == "pcsc" && len(c.Readers.ID) == 0 && len(c.Readers.SS) == 0 {
		bad("readers.id", "pcsc mode needs reader-name patterns for id and/or ss")
	}
	if c.Readers.TransmitTimeout.Duration <= 0 {
		bad("readers.transmit_timeout", "must be positive")
	}
	if c.Printer.Mode != "sim" && c.Printer.Mode != "serial" {
		bad("printer.mode", "must be \"sim\" or \"serial\", got %q", c.Printer.Mode)
	}
	if c.Printer.Mode == "serial" && c.Printer.Device == "" {
		bad("printer.device", "serial mode needs a device (prefer /dev/serial/by-id/...)")
	}
	switch c.Printer.Baud {
	case 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200:
	default:
		bad("printer.baud", "must be a standard rate (1200..115200), got %d", c.Printer.Baud)
	}
	if c.Printer.Flow != "none" && c.Printer.Flow != "rtscts" && c.Printer.Flow != "xonxoff" {
		bad("printer.flow", "must be none, rtscts or xonxoff, got %q", c.Printer.Flow)
	}
	ps = append(ps, c.Printer.escposProblems()...)
	if !strings.Contains(c.Receipt.LookupURL, "{voucher}") {
		bad("receipt.lookup_url", "must contain {voucher}, got %q", c.Receipt.LookupURL)
	} else if u, err := url.Parse(strings.ReplaceAll(c.Receipt.LookupURL, "{voucher}", "0")); err != nil || u.Host == "" {
		bad("receipt.lookup_url", "is not an absolute URL: %q", c.Receipt.LookupURL)
	}
	if c.Receipt.ReplacementDays < 1 || c.Receipt.ReplacementDays > 365 {
		bad("receipt.replacement_days", "must be 1..365, got %d", c.Receipt.ReplacementDays)
	}
	if strings.TrimSpace(c.Receipt.Hotline) == "" {
		bad("receipt.hotline", "must not be empty (the receipt and the screens give it)")
	}
	ps = append(ps, c.receiptTextProblems()...)
	for i, t := range c.Maintenance.Technicians {
		if t.Label == "" {
			bad(fmt.Sprintf("maintenance.technicians[%d].label", i), "must not be empty (the audit log records it)")
		}
		if _, err := maint.Parse(t.PINHash); err != nil {
			bad(fmt.Sprintf("maintenance.technicians[%d].pin_hash", i), "must be an argon2id hash from `kioskd hash-pin`: %v", err)
		}
	}
	if c.Maintenance.MaxTries < 1 {
		bad("maintenance.max_tries", "must be at least 1")
	}
	if c.Maintenance.Lockout.Duration <= 0 {
		bad("maintenance.lockout", "must be positive")
	}
	if c.Maintenance.IdleTimeout.Duration <= 0 {
		bad("maintenance.idle_timeout", "must be positive")
	}
	if c.Speech.Binary == "" {
		bad("speech.binary", "must name the espeak-ng program")
	}
	if c.Speech.Rate < 80 || c.Speech.Rate > 450 {
		bad("speech.rate", "must be 80..450 words per minute, got %d", c.Speech.Rate)
	}
	if c.Speech.SynthTimeout.Duration <= 0 {
		bad("speech.synth_timeout", "must be positive")
	}
	if c.Speech.Warning.Duration < 10*time.Second {
		bad("speech.warning", "must be at least 10s (time to hear it and press a key), got %s", c.Speech.Warning)
	}
	if c.Speech.IdleTimeout.Duration < c.UI.IdleTimeout.Duration || c.Speech.IdleTimeout.Duration <= c.Speech.Warning.Duration {
		bad("speech.idle_timeout", "must be at least ui.idle_timeout (%s) and longer than speech.warning (%s), got %s", c.UI.IdleTimeout, c.Speech.Warning, c.Speech.IdleTimeout)
	}
	return ps
}

// receiptTextProblems names every missing translation of the receipt
// texts in the languages the terminal offers: a text that is empty, or one
// still at its default while another language's was changed (an agency
// configured in Chinese only would leave the Vietnamese and English
// receipts naming the default agency).
func (c Config) receiptTextProblems() []Problem {
	var ps []Problem
	def := Default().Receipt
	fields := []struct {
		key string
		get func(ReceiptText) string
	}{
		{"agency", func(t ReceiptText) string { return t.Agency }},
		{"location", func(t ReceiptText) string { return t.Location }},
		{"fee", func(t ReceiptText) string { return t.Fee }},
	}
	for _, f := range fields {
		var changed []string
		for _, l := range c.UI.Languages {
			if v := f.get(c.Receipt.Text(l)); v != "" && v != f.get(def.Text(l)) {
				changed = append(changed, l)
			}
		}
		for _, l := range c.UI.Languages {
			if !contains(ReceiptLanguages, l) {
				continue
			}
			key := "receipt." + l + "." + f.key
			v := f.get(c.Receipt.Text(l))
			switch {
			case strings.TrimSpace(v) == "":
				ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf("missing translation: the %s receipt and screens need it", l)})
			case len(changed) > 0 && !contains(changed, l):
				ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf("missing translation: receipt.%s.%s was changed to %q, but the %s text is still the default %q", changed[0], f.key, f.get(c.Receipt.Text(changed[0])), l, v)})
			}
		}
	}
	return ps
}

// IsLoopback reports whether a listen address (HOST:PORT) only accepts
// local clients: localhost or a loopback IP. An empty host (all
// addresses) is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ListenProblems are the settings that would expose the listeners: the UI
// off loopback without ui.allowed_origins, a client CA without TLS, a
// token in clear on a network. Validate includes them; the daemon checks
// them again before it listens.
func (c Config) ListenProblems() []Problem {
	var ps []Problem
	bad := func(key, format string, args ...any) {
		ps = append(ps, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if !IsLoopback(c.UI.Listen) && len(c.UI.AllowedOrigins) == 0 {
		bad("ui.listen", "%s is not a loopback address: set ui.allowed_origins to the origin the terminal's browser loads the page from (e.g. \"http://kiosk.local:8080\"), or any page could take the screen over", c.UI.Listen)
	}
	if c.Mgmt.ClientCA != "" && c.Mgmt.TLSCert == "" {
		bad("mgmt.client_ca", "needs mgmt.tls_cert and mgmt.tls_key: over plain HTTP no client can present a certificate")
	}
	if c.Mgmt.TokenFile != "" && c.Mgmt.TLSCert == "" && !IsLoopback(c.Mgmt.Listen) {
		bad("mgmt.token_file", "mgmt.listen %s is not a loopback address and has no mgmt.tls_cert: the token would cross the network in clear; set mgmt.tls_cert and mgmt.tls_key", c.Mgmt.Listen)
	}
	return ps
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
