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
