// Package maint owns the technician's maintenance menu: its screens as a
// pure state machine (Next, State, Intent, Effect, like kiosk/flow for the
// citizen's operations) and the data they show; the technician PIN
// (argon2id hashes in the PHC string format, which `kioskd hash-pin` makes
// and the config holds, their constant-time check, and the Guard's lockout
// after too many wrong PINs); the Backend the daemon implements over its
// parts; and Audited, the one place where every technician action is
// written to the audit log. It does no I/O of its own (Do only calls the
// Actions it is given), reads no config and holds no PIN after a call; the
// session runs the effects.
package maint

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultParams are what Hash uses: m=64 MiB, t=3, p=2 (the config's
// documented format).
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2}

const (
	saltLen = 16
	keyLen  = 32
	// Bounds a hash from the config may ask for, so a typo cannot make
	// every PIN check take minutes or gigabytes.
	maxMemory  = 1 << 20 // 1 GiB in KiB
	maxTime    = 100
	minKeyLen  = 16
	maxHashLen = 512
)

// Hash returns the PHC string
// `$argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>` (unpadded standard base64)
// of pin with a random salt.
func Hash(pin string) (string, error) {
	return HashWith(pin, DefaultParams)
}

// HashWith is Hash with other costs (tests use cheap ones).
func HashWith(pin string, p Params) (string, error) {
	if err := CheckPIN(pin); err != nil {
		return "", err
	}
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 {
		return "", fmt.Errorf("argon2id parameters m=%d,t=%d,p=%d: out of range", p.Memory, p.Time, p.Threads)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	key := argon2.IDKey([]byte(pin), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// CheckPIN says whether pin is acceptable as a technician PIN: 4 to 12
// digits. The error never contains the PIN.
func CheckPIN(pin string) error {
	if len(pin) < 4 || len(pin) > 12 {
		return errors.New("PIN must be 4 to 12 digits")
	}
	for _, c := range pin {
		if c < '0' || c > '9' {
			return errors.New("PIN must be digits only")
		}
	}
	return nil
}

// ErrHashFormat is wrapped by every error about a malformed hash string.
var ErrHashFormat = errors.New("not an argon2id PHC hash")

// Hashed is a parsed PHC string.
type Hashed struct {
	Params Params
	Salt   []byte
	Key    []byte
}

// Parse reads `$argon2id$v=19$m=..,t=..,p=..$<salt>$<hash>`. Errors wrap
// ErrHashFormat and name the part that is wrong.
func Parse(phc string) (Hashed, error) {
	bad := func(format string, a ...any) (Hashed, error) {
		return Hashed{}, fmt.Errorf("%w: %s", ErrHashFormat, fmt.Sprintf(format, a...))
	}
	if len(phc) > maxHashLen {
		return bad("longer than %d bytes", maxHashLen)
	}
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want 5 fields separated by '$', got %d", len(parts)-1)
	}
	if parts[1] != "argon2id" {
		return bad("algorithm must be argon2id")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("version must be v=%d", argon2.Version)
	}
	var h Hashed
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return bad("parameters must be m=<KiB>,t=<passes>,p=<threads>")
		}
		seen[k] = true
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return bad("parameter %s is not a number", k)
		}
		switch k {
		case "m":
			h.Params.Memory = uint32(n)
		case "t":
			h.Params.Time = uint32(n)
		case "p":
			if n > 255 {
				return bad("p must be 1..255")
			}
			h.Params.Threads = uint8(n)
		default:
			return bad("unknown parameter %q", k)
		}
	}
	switch {
	case len(seen) != 3:
		return bad("parameters must be m=<KiB>,t=<passes>,p=<threads>")
	case h.Params.Threads < 1:
		return bad("p must be 1..255")
	case h.Params.Time < 1 || h.Params.Time > maxTime:
		return bad("t must be 1..%d", maxTime)
	case h.Params.Memory < 8*uint32(h.Params.Threads) || h.Params.Memory > maxMemory:
		return bad("m must be 8*p..%d KiB", maxMemory)
	}
	var err error
	if h.Salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.Salt) < 8 {
		return bad("salt must be at least 8 bytes of unpadded base64")
	}
	if h.Key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.Key) < minKeyLen {
		return bad("hash must be at least %d bytes of unpadded base64", minKeyLen)
	}
	return h, nil
}

// Verify reports whether pin matches the PHC string phc. The comparison is
// constant-time; an error means phc is malformed.
func Verify(phc, pin string) (bool, error) {
	h, err := Parse(phc)
	if err != nil {
		return false, err
	}
	key := argon2.IDKey([]byte(pin), h.Salt, h.Params.Time, h.Params.Memory, h.Params.Threads, uint32(len(h.Key)))
	return subtle.ConstantTimeCompare(key, h.Key) == 1, nil
}

// Technician is one PIN the menu accepts: its label (what the audit log
// records) and its PHC hash.
type Technician struct {
	Label   string
	PINHash string
}

// ErrWrongPIN: no technician has this PIN. Wrapped by *WrongPIN.
var ErrWrongPIN = errors.New("wrong technician PIN")

// WrongPIN is a wrong PIN; TriesLeft more lock the menu.
type WrongPIN struct{ TriesLeft int }

func (e *WrongPIN) Error() string {
	return fmt.Sprintf("wrong technician PIN, %d tries left", e.TriesLeft)
}
func (e *WrongPIN) Unwrap() error { return ErrWrongPIN }

// ErrLocked: too many wrong PINs. Wrapped by *LockedError.
var ErrLocked = errors.New("maintenance menu locked after too many wrong PINs")

// LockedError says until when the menu is locked. JustLocked is set on the
// wrong PIN that caused the lock, and After to how many wrong PINs in a row
// caused it.
type LockedError struct {
	Until      time.Time
	JustLocked bool
	After      int
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v until %s", ErrLocked, e.Until.Format(time.RFC3339))
}
func (e *LockedError) Unwrap() error { return ErrLocked }

// Guard checks PINs against the technicians and locks after MaxTries wrong
// ones in a row for Lockout. It lives as long as the daemon, so leaving
// the menu does not reset the count. Safe for concurrent use.
type Guard struct {
	techs    []Technician
	maxTries int
	lockout  time.Duration
	now      func() time.Time

	mu    sync.Mutex
	fails int
	until time.Time
}

// NewGuard returns a Guard; maxTries < 1 means 5, lockout <= 0 means 15
// minutes, now nil means time.Now.
func NewGuard(techs []Technician, maxTries int, lockout time.Duration, now func() time.Time) *Guard {
	if maxTries < 1 {
		maxTries = 5
	}
	if lockout <= 0 {
		lockout = 15 * time.Minute
	}
	if now == nil {
		now = time.Now
	}
	return &Guard{techs: techs, maxTries: maxTries, lockout: lockout, now: now}
}

// LockedUntil is the end of the current lock, or zero when not locked.
func (g *Guard) LockedUntil() time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.now().Before(g.until) {
		return g.until
	}
	return time.Time{}
}

// Check returns the label of the technician whose PIN this is. Errors:
// *LockedError while locked (the PIN is not even checked), *WrongPIN,
// joined with a malformed hash's error when the configuration has one.
func (g *Guard) Check(pin string) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock() // one check at a time: no parallel guessing
	now := g.now()
	if now.Before(g.until) {
		return "", &LockedError{Until: g.until}
	}
	var bad error
	for _, t := range g.techs {
		ok, err := Verify(t.PINHash, pin)
		if err != nil {
			bad = fmt.Errorf("technician %q: %w", t.Label, err)
			continue
		}
		if ok {
			g.fails = 0
			return t.Label, nil
		}
	}
	g.fails++
	if g.fails >= g.maxTries {
		g.fails = 0
		g.until = now.Add(g.lockout)
		return "", &LockedError{Until: g.until, JustLocked: true, After: g.maxTries}
	}
	// A malformed hash in the configuration is reported beside the wrong
	// PIN; it still counts as a failure, so it opens no way around the lock.
	return "", errors.Join(&WrongPIN{TriesLeft: g.maxTries - g.fails}, bad)
}
