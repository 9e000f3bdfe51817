// Package bac implements ICAO 9303 part 11 Basic Access Control for both
// ends of the contactless link: key derivation from the MRZ information,
// the mutual authentication cryptogram, session keys, and secure messaging
// (DO87/DO97/DO99/DO8E) with two-key 3DES-CBC and the ISO 9797-1 MAC
// algorithm 3. The reader (package emrtd) and the virtual chip (package
// cardsim) both build on it; its known-answer tests use the worked example
// of ICAO 9303 part 11 appendix D.
//
// It does no I/O, knows no files of the LDS and does not do PACE.
package bac

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Key derivation counters (ICAO 9303 part 11, 9.7.1).
const (
	counterEnc uint32 = 1
	counterMAC uint32 = 2
)

// Keys is a pair of two-key 3DES keys, 16 bytes each.
type Keys struct {
	Enc, MAC []byte
}

// Seed returns K_seed = SHA-1(mrzInfo)[0:16], where mrzInfo is document
// number ‖ check ‖ birth date ‖ check ‖ expiry date ‖ check.
func Seed(mrzInfo string) []byte {
	h := sha1.Sum([]byte(mrzInfo))
	return h[:16]
}

// DeriveKeys derives K_enc and K_mac from a 16-byte seed (part 11, 9.7.1).
func DeriveKeys(seed []byte) Keys {
	return Keys{Enc: deriveKey(seed, counterEnc), MAC: deriveKey(seed, counterMAC)}
}

func deriveKey(seed []byte, counter uint32) []byte {
	d := make([]byte, len(seed)+4)
	copy(d, seed)
	binary.BigEndian.PutUint32(d[len(seed):], counter)
	h := sha1.Sum(d)
	k := make([]byte, 16)
	copy(k, h[:16])
	for i := range k {
		k[i] = withOddParity(k[i])
	}
	return k
}

// withOddParity sets the low bit of b so that b has an odd number of ones
// (DES key parity).
func withOddParity(b byte) byte {
	b &^= 1
	n := 0
	for x := b; x != 0; x &= x - 1 {
		n++
	}
	if n%2 == 0 {
		b |= 1
	}
	return b
}

func tripleDES(key []byte) cipher.Block {
	if len(key) != 16 {
		panic(fmt.Sprintf("bac: 3DES key of %d bytes, want 16", len(key))) // programming error: keys come from DeriveKeys
	}
	k := make([]byte, 24)
	copy(k, key)
	copy(k[16:], key[:8])
	b, err := des.NewTripleDESCipher(k)
	if err != nil {
		panic(err) // unreachable: the length is right
	}
	return b
}

// Encrypt is 3DES-CBC with a zero IV over data, whose length must be a
// multiple of 8 (pad it with Pad first).
func Encrypt(key, data []byte) []byte {
	out := make([]byte, len(data))
	cipher.NewCBCEncrypter(tripleDES(key), make([]byte, 8)).CryptBlocks(out, data)
	return out
}

// Decrypt is the inverse of Encrypt. data must be a multiple of 8 bytes.
func Decrypt(key, data []byte) ([]byte, error) {
	if len(data)%8 != 0 {
		return nil, fmt.Errorf("bac: cryptogram of %d bytes is not a multiple of the 8-byte block", len(data))
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(tripleDES(key), make([]byte, 8)).CryptBlocks(out, data)
	return out, nil
}

// Pad appends ISO/IEC 9797-1 padding method 2: 80 then 00 up to a multiple
// of 8 bytes.
func Pad(b []byte) []byte {
	out := make([]byte, len(b), len(b)+8)
	copy(out, b)
	out = append(out, 0x80)
	for len(out)%8 != 0 {
		out = append(out, 0)
	}
	return out
}

// Unpad removes padding method 2 and fails when it is malformed.
func Unpad(b []byte) ([]byte, error) {
	i := len(b) - 1
	for i >= 0 && b[i] == 0 {
		i--
	}
	if i < 0 || b[i] != 0x80 || len(b)-i > 8 {
		return nil, errors.New("bac: padding of decrypted data is malformed")
	}
	return b[:i], nil
}

// MAC is the ISO/IEC 9797-1 MAC algorithm 3 (retail MAC) with DES and
// padding method 2 over msg, using the 16-byte key K1‖K2: single DES CBC
// with K1 over every block, then decrypt with K2 and encrypt with K1 on the
// last.
func MAC(key, msg []byte) []byte {
	k1, _ := des.NewCipher(key[:8])
	k2, _ := des.NewCipher(key[8:16])
	p := Pad(msg)
	h := make([]byte, 8)
	for i := 0; i < len(p); i += 8 {
		subtle.XORBytes(h, h, p[i:i+8])
		k1.Encrypt(h, h)
	}
	k2.Decrypt(h, h)
	k1.Encrypt(h, h)
	return h
}

// ErrAuthentication is returned when a mutual authentication cryptogram's
// MAC or content does not match: the keys (the MRZ data) are wrong.
var ErrAuthentication = errors.New("bac: mutual authentication cryptogram does not match the keys")

// AuthenticateCommand builds the MUTUAL AUTHENTICATE command data E_IFD ‖
// M_IFD (40 bytes) of the reader (part 11, 9.7.2 steps 2-3).
func AuthenticateCommand(k Keys, rndIFD, rndICC, kIFD []byte) []byte {
	s := make([]byte, 0, 32)
	s = append(s, rndIFD...)
	s = append(s, rndICC...)
	s = append(s, kIFD...)
	e := Encrypt(k.Enc, s)
	return append(e, MAC(k.MAC, e)...)
}

// FinishAuthenticate checks the chip's answer E_ICC ‖ M_ICC and returns the
// secure messaging session (part 11, 9.7.2 steps 5-6, 9.7.4 for the SSC).
func FinishAuthenticate(k Keys, resp, rndIFD, rndICC, kIFD []byte) (*Session, error) {
	if len(resp) != 40 {
		return nil, fmt.Errorf("%w (answer of %d bytes, want 40)", ErrAuthentication, len(resp))
	}
	e, m := resp[:32], resp[32:]
	if subtle.ConstantTimeCompare(MAC(k.MAC, e), m) != 1 {
		return nil, ErrAuthentication
	}
	r, _ := Decrypt(k.Enc, e)
	if !bytes.Equal(r[0:8], rndICC) || !bytes.Equal(r[8:16], rndIFD) {
		return nil, ErrAuthentication
	}
	return newSession(kIFD, r[16:32], rndICC, rndIFD), nil
}

// AnswerAuthenticate is the chip's side: it checks the reader's E_IFD ‖
// M_IFD against its own challenge rndICC and answers E_ICC ‖ M_ICC with its
// key share kICC, returning the session both sides now share.
func AnswerAuthenticate(k Keys, cmd, rndICC, kICC []byte) (resp []byte, s *Session, err error) {
	if len(cmd) != 40 {
		return nil, nil, fmt.Errorf("%w (command data of %d bytes, want 40)", ErrAuthentication, len(cmd))
	}
	e, m := cmd[:32], cmd[32:]
	if subtle.ConstantTimeCompare(MAC(k.MAC, e), m) != 1 {
		return nil, nil, ErrAuthentication
	}
	r, _ := Decrypt(k.Enc, e)
	rndIFD, gotICC, kIFD := r[0:8], r[8:16], r[16:32]
	if !bytes.Equal(gotICC, rndICC) {
		return nil, nil, ErrAuthentication
	}
	out := make([]byte, 0, 32)
	out = append(out, rndICC...)
	out = append(out, rndIFD...)
	out = append(out, kICC...)
	eICC := Encrypt(k.Enc, out)
	resp = append(eICC, MAC(k.MAC, eICC)...)
	return resp, newSession(kIFD, kICC, rndICC, rndIFD), nil
}

func newSession(kIFD, kICC, rndICC, rndIFD []byte) *Session {
	seed := make([]byte, 16)
	subtle.XORBytes(seed, kIFD, kICC)
	k := DeriveKeys(seed)
	ssc := make([]byte, 0, 8)
	ssc = append(ssc, rndICC[4:8]...)
	ssc = append(ssc, rndIFD[4:8]...)
	return &Session{Keys: k, SSC: binary.BigEndian.Uint64(ssc)}
}
