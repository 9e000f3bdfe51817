package vouchertoken

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Keyring is a terminal's signing keys: one file per key in a directory
// (mode 0700; each file 0600, never leaving the terminal). The newest key
// signs; older ones are kept so their public keys stay published and the
// vouchers they signed stay verifiable.
type Keyring struct {
	KioskID string
	keys    []signingKey // oldest first
}

type signingKey struct {
	PublicKey
	priv ed25519.PrivateKey
}

// keyFile is a key on disk.
type keyFile struct {
	KeyID     string    `json:"key_id"`
	CreatedAt time.Time `json:"created_at"`
	Seed      string    `json:"seed"` // 32 bytes, hex: the Ed25519 private key seed
}

const keySuffix = ".ed25519.json"

// LoadKeyring reads the keys in dir, creating the directory and a first key
// when there is none. A key file that cannot be read is an error naming it;
// it is never replaced.
func LoadKeyring(dir, kioskID string) (*Keyring, error) {
	kr, err := readKeyring(dir, kioskID)
	if err != nil {
		return nil, err
	}
	if len(kr.keys) == 0 {
		if _, err := Rotate(dir, kioskID, time.Now()); err != nil {
			return nil, err
		}
		return readKeyring(dir, kioskID)
	}
	return kr, nil
}

func readKeyring(dir, kioskID string) (*Keyring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("signing keys: create %s: %w", dir, err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*"+keySuffix))
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	kr := &Keyring{KioskID: kioskID}
	for _, name := range names {
		k, err := readKey(name)
		if err != nil {
			return nil, err
		}
		k.KioskID = kioskID
		kr.keys = append(kr.keys, k)
	}
	sort.Slice(kr.keys, func(i, j int) bool {
		a, b := kr.keys[i], kr.keys[j]
		if !a.CreatedAt.Equal(b.CreatedAt) {
			return a.CreatedAt.Before(b.CreatedAt)
		}
		return a.KeyID < b.KeyID
	})
	return kr, nil
}

func readKey(name string) (signingKey, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return signingKey{}, fmt.Errorf("signing key %s: %w", name, err)
	}
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return signingKey{}, fmt.Errorf("signing key %s: not a key file: %w", name, err)
	}
	seed, err := hex.DecodeString(f.Seed)
	if err != nil || len(seed) != ed25519.SeedSize {
		return signingKey{}, fmt.Errorf("signing key %s: seed is not %d hex bytes", name, ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	pub := priv.Public().(ed25519.PublicKey)
	if KeyID(pub) != f.KeyID || !strings.HasPrefix(filepath.Base(name), f.KeyID) {
		return signingKey{}, fmt.Errorf("signing key %s: key id %q does not match its key (%s)", name, f.KeyID, KeyID(pub))
	}
	return signingKey{PublicKey: PublicKey{KeyID: f.KeyID, PublicKey: pub, CreatedAt: f.CreatedAt}, priv: priv}, nil
}

// Rotate makes a new signing key in dir and returns its public part; from
// now on it signs. Older keys stay. The file appears complete or not at all.
func Rotate(dir, kioskID string, now time.Time) (PublicKey, error) {
	kr, err := readKeyring(dir, kioskID)
	if err != nil {
		return PublicKey{}, err
	}
	created := now.UTC().Truncate(time.Second)
	if n := len(kr.keys); n > 0 && !created.After(kr.keys[n-1].CreatedAt) {
		// A clock set back must not make the new key older than the last.
		created = kr.keys[n-1].CreatedAt.Add(time.Second)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return PublicKey{}, fmt.Errorf("signing key: %w", err)
	}
	f := keyFile{KeyID: KeyID(pub), CreatedAt: created, Seed: hex.EncodeToString(priv.Seed())}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return PublicKey{}, err
	}
	if err := writeNew(filepath.Join(dir, f.KeyID+keySuffix), append(data, '\n')); err != nil {
		return PublicKey{}, fmt.Errorf("signing key: %w", err)
	}
	return PublicKey{KioskID: kioskID, KeyID: f.KeyID, PublicKey: pub, CreatedAt: created}, nil
}

// writeNew writes a 0600 file through a temporary file and a hard link, so
// it never exists half-written, and syncs the directory.
func writeNew(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Current is the key that signs now.
func (kr *Keyring) Current() PublicKey { return kr.keys[len(kr.keys)-1].PublicKey }

// Public lists every key's public part, oldest first.
func (kr *Keyring) Public() Keys {
	out := make(Keys, len(kr.keys))
	for i, k := range kr.keys {
		out[i] = k.PublicKey
	}
	return out
}

// Sign signs c with the current key; c.KioskID is the keyring's.
func (kr *Keyring) Sign(c Claims) (string, error) {
	c.KioskID = kr.KioskID
	return Sign(kr.keys[len(kr.keys)-1].priv, c)
}

// KeyFile is the JSON of a key file given to `kioskd verify-voucher --keys`
// and of central's key listings: {"keys": [PublicKey...]}.
type KeyFile struct {
	Keys Keys `json:"keys"`
}

// ReadKeyFile reads a KeyFile; a key record that does not hold together is
// an error naming it.
func ReadKeyFile(path string) (Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f KeyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: not a key file ({\"keys\": [...]}): %w", path, err)
	}
	for i, k := range f.Keys {
		if err := k.Check(); err != nil {
			return nil, fmt.Errorf("%s: key %d: %w", path, i+1, err)
		}
	}
	if len(f.Keys) == 0 {
		return nil, errors.New(path + ": holds no keys")
	}
	return f.Keys, nil
}
