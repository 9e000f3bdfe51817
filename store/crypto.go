package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// seal encrypts plain with AES-GCM under a fresh random nonce; the result
// is nonce|ciphertext|tag. aad binds it to its record.
func (s *Store) seal(plain, aad []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("store: random nonce: %w", err)
	}
	return s.aead.Seal(nonce, nonce, plain, aad), nil
}

func (s *Store) unseal(sealed, aad []byte) ([]byte, error) {
	ns := s.aead.NonceSize()
	if len(sealed) < ns+s.aead.Overhead() {
		return nil, errors.New("encrypted field is too short")
	}
	plain, err := s.aead.Open(nil, sealed[:ns], sealed[ns:], aad)
	if err != nil {
		return nil, errors.New("encrypted field does not decrypt (wrong key or damaged record)")
	}
	if plain == nil {
		plain = []byte{}
	}
	return plain, nil
}

// LoadOrCreateKey returns the 32-byte key in the file at path, stored raw or
// as 64 hex characters (surrounding whitespace ignored). A missing file is
// created with mode 0600 holding a new random key in hex; its directory is
// created 0700. Any other content is an error saying what is wrong.
func LoadOrCreateKey(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return createKey(path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: read key file: %w", err)
	}
	return parseKey(path, data)
}

// Errors of LoadKeyFor, for errors.Is.
var (
	// ErrKeyMissing: the key file is gone but the store file holds data
	// written with it.
	ErrKeyMissing = errors.New("store: key file is missing")
	// ErrStoreMissing: the store file is gone or empty but the key file
	// shows the terminal has run before.
	ErrStoreMissing = errors.New("store: store file is missing or empty")
)

// LoadKeyFor returns the key for the store file at dbPath, from the key
// file at keyPath. It makes a new key only on a first start: no key file
// and no store file (or an empty one). It refuses, with an error naming
// both files and what to do:
//
//   - a store file holding data without its key file (ErrKeyMissing): a new
//     key could not read it, so none is created beside it;
//   - a key file without its store file, or with an empty one
//     (ErrStoreMissing): the terminal has run before, and starting on an
//     empty store would hand out its voucher numbers again.
//
// A new key is written to keyPath+".new" and put in place by confirm,
// which the caller calls once the store has opened with it (confirm is nil
// when the key file already existed). A first start that fails or is
// killed before confirm leaves only the ".new" file, which the next start
// adopts, so it is never taken for a terminal that lost its store.
func LoadKeyFor(keyPath, dbPath string) (key []byte, confirm func() error, err error) {
	dbSize := int64(-1) // -1: no store file
	if fi, err := os.Stat(dbPath); err == nil {
		dbSize = fi.Size()
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, fmt.Errorf("store: %s: %w", dbPath, err)
	}
	exists := func(path string) (bool, error) {
		_, err := os.Stat(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return false, fmt.Errorf("store: key file %s: %w", path, err)
		}
		return err == nil, nil
	}
	keyExists, err := exists(keyPath)
	if err != nil {
		return nil, nil, err
	}
	if keyExists {
		if dbSize <= 0 {
			what := "is missing"
			if dbSize == 0 {
				what = "is empty (0 bytes)"
			}
			return nil, nil, fmt.Errorf("%w: %s %s, but the key file %s shows this terminal has run before, and "+
				"starting on an empty store would issue its voucher numbers again. Restore %s from the terminal's "+
				"backup; only if this terminal never stored an operation, remove %s to start afresh",
				ErrStoreMissing, dbPath, what, keyPath, dbPath, keyPath)
		}
		key, err := LoadOrCreateKey(keyPath)
		return key, nil, err
	}
	newPath := keyPath + ".new"
	newExists, err := exists(newPath)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case newExists:
		// An unfinished first start: its store, if any, was made with it.
		key, err = LoadOrCreateKey(newPath)
	case dbSize > 0:
		return nil, nil, fmt.Errorf("%w: %s, but %s holds data encrypted with it. Restore the key file from "+
			"the terminal's backup; kioskd does not create a new key beside an existing store, which it could not read",
			ErrKeyMissing, keyPath, dbPath)
	default:
		key, err = createKey(newPath)
	}
	if err != nil {
		return nil, nil, err
	}
	return key, func() error { return confirmKey(newPath, keyPath) }, nil
}

// confirmKey puts a first start's new key in place, durably.
func confirmKey(newPath, keyPath string) error {
	if err := os.Link(newPath, keyPath); err != nil {
		return fmt.Errorf("store: put the new key file %s in place: %w", keyPath, err)
	}
	if err := os.Remove(newPath); err != nil {
		return fmt.Errorf("store: remove %s: %w", newPath, err)
	}
	if d, err := os.Open(filepath.Dir(keyPath)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

func parseKey(path string, data []byte) ([]byte, error) {
	if len(data) == 32 {
		return data, nil
	}
	text := bytes.TrimSpace(data)
	if len(text) == 64 {
		key := make([]byte, 32)
		if _, err := hex.Decode(key, text); err == nil {
			return key, nil
		}
		return nil, fmt.Errorf("store: key file %s: 64 characters but not hexadecimal", path)
	}
	return nil, fmt.Errorf("store: key file %s holds %d bytes, want 32 raw bytes or 64 hex characters", path, len(data))
}

func createKey(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create key directory: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("store: random key: %w", err)
	}
	// Write a temporary file and link it into place: the key file appears
	// complete or not at all, and a concurrent creator's key wins cleanly.
	f, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, fmt.Errorf("store: create key file: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("store: write key file: %w", err)
	}
	if err := os.Link(tmp, path); errors.Is(err, os.ErrExist) {
		return LoadOrCreateKey(path)
	} else if err != nil {
		return nil, fmt.Errorf("store: create key file: %w", err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // make the new directory entry durable
		_ = d.Close()
	}
	return key, nil
}
