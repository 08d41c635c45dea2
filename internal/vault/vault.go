// Package vault encrypts data at rest: webhook bodies and the secret fields
// of alert channels. A Keyring holds several AES-256-GCM keys, each with an
// id; the first is the active key that seals new data, the others only open
// what they sealed, so keys can be rotated without downtime (`hooklens keys
// rotate` re-seals stored data under the active key, see Reencrypt).
//
// A sealed value names the key that sealed it (its encoding), so a keyring
// always knows which key opens it; the encoding "identity" means "stored in
// the clear" and passes through, which is what hooklens does without keys.
//
// This package must never log, print or wrap into an error a key or a
// plaintext, and never seal with a key other than the active one.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Identity is the encoding of data stored in the clear.
const Identity = "identity"

// encodingPrefix starts the encoding of data sealed by a key: the encoding
// is encodingPrefix + key id, e.g. "aes256gcm:k2024".
const encodingPrefix = "aes256gcm:"

// KeySize is the size of an AES-256 key in bytes.
const KeySize = 32

// maxKeyID keeps key ids short: they are stored with every sealed value.
const maxKeyID = 32

// Errors opening data. They never include the data.
var (
	// ErrUnknownKey means the data was sealed by a key this keyring lacks:
	// add that key back to HOOKLENS_ENCRYPTION_KEYS (after the active one).
	ErrUnknownKey = errors.New("sealed with a key that is not configured")
	// ErrUnknownEncoding means the encoding is neither identity nor a key.
	ErrUnknownEncoding = errors.New("unknown storage encoding")
	// ErrCorrupt means authentication failed: the data or its key id was
	// altered, or a different key now carries that id.
	ErrCorrupt = errors.New("sealed data failed authentication (altered, or the key under that id changed)")
)

// Key is one configured key.
type Key struct {
	// ID names the key in every value it seals.
	ID   string
	aead cipher.AEAD
}

// Keyring is the set of configured keys. The zero of *Keyring (nil) and a
// keyring whose active entry is identity store data in the clear.
type Keyring struct {
	// active is nil when new data is stored in the clear.
	active *Key
	keys   map[string]*Key
	ids    []string
}

// ParseKeys parses HOOKLENS_ENCRYPTION_KEYS: comma-separated entries of the
// form id:key, where key is 32 bytes as base64 (standard or URL alphabet,
// padded or not) or 64 hex characters, and id is 1–32 letters, digits, '-',
// '_' or '.'. The first entry is the active key. The single word identity
// may stand first instead of a key: new data is then stored in the clear
// while the keys that follow still open old data (to turn encryption off,
// rotate with it first). An empty spec gives a nil keyring (no encryption).
// Errors name the entry by position, never its key.
func ParseKeys(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, nil
	}
	kr := &Keyring{keys: map[string]*Key{}}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		pos := i + 1
		if entry == "" {
			return nil, fmt.Errorf("entry %d is empty", pos)
		}
		if entry == Identity {
			if i != 0 {
				return nil, fmt.Errorf("entry %d: identity may only stand first (as the active choice)", pos)
			}
			kr.ids = append(kr.ids, Identity)
			continue
		}
		id, material, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("entry %d must be id:key (a key id, a colon, then 32 bytes in base64 or hex)", pos)
		}
		id = strings.TrimSpace(id)
		if err := checkKeyID(id); err != nil {
			return nil, fmt.Errorf("entry %d: %w", pos, err)
		}
		if _, dup := kr.keys[id]; dup {
			return nil, fmt.Errorf("entry %d: key id %q appears twice", pos, id)
		}
		raw, err := decodeKey(strings.TrimSpace(material))
		if err != nil {
			return nil, fmt.Errorf("entry %d (key %q): %w", pos, id, err)
		}
		k, err := newKey(id, raw)
		clear(raw)
		if err != nil {
			return nil, fmt.Errorf("entry %d (key %q): %w", pos, id, err)
		}
		kr.keys[id] = k
		kr.ids = append(kr.ids, id)
		if i == 0 {
			kr.active = k
		}
	}
	if len(kr.keys) == 0 {
		return nil, errors.New("identity alone is the same as no keys; leave the setting empty")
	}
	return kr, nil
}

func checkKeyID(id string) error {
	if id == "" || len(id) > maxKeyID {
		return fmt.Errorf("key id must be 1–%d characters", maxKeyID)
	}
	if id == Identity {
		return errors.New("identity is reserved and cannot name a key")
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return errors.New("key id may hold only letters, digits, '-', '_' and '.'")
		}
	}
	return nil
}

// decodeKey accepts 64 hex characters or base64 in any common form.
func decodeKey(s string) ([]byte, error) {
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("key must be %d bytes, this one is %d (generate one with `hooklens keys generate`)", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("key must be %d bytes in base64 or %d hex characters", KeySize, 2*KeySize)
}

func newKey(id string, raw []byte) (*Key, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, fmt.Errorf("building AES cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("building GCM: %w", err)
	}
	return &Key{ID: id, aead: aead}, nil
}

// GenerateKey returns a fresh random key as base64, ready for
// HOOKLENS_ENCRYPTION_KEYS after an id and a colon.
func GenerateKey() (string, error) {
	b := make([]byte, KeySize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// Enabled reports whether new data is sealed (an active key is set).
func (kr *Keyring) Enabled() bool { return kr != nil && kr.active != nil }

// ActiveEncoding is the encoding Seal gives new data: identity, or the
// active key's encoding.
func (kr *Keyring) ActiveEncoding() string {
	if !kr.Enabled() {
		return Identity
	}
	return encodingPrefix + kr.active.ID
}

// KeyIDs lists the configured entries in order, the active first
// ("identity" when new data is stored in the clear).
func (kr *Keyring) KeyIDs() []string {
	if kr == nil {
		return []string{Identity}
	}
	return append([]string(nil), kr.ids...)
}

// Has reports whether the keyring can open data stored with encoding.
func (kr *Keyring) Has(encoding string) bool {
	if encoding == "" || encoding == Identity {
		return true
	}
	id, ok := strings.CutPrefix(encoding, encodingPrefix)
	if !ok || kr == nil {
		return false
	}
	_, ok = kr.keys[id]
	return ok
}

// KeyIDOf returns the key id named by encoding ("" for identity or an
// encoding that names no key).
func KeyIDOf(encoding string) string {
	id, _ := strings.CutPrefix(encoding, encodingPrefix)
	if id == encoding {
		return ""
	}
	return id
}

// Seal encrypts plain under the active key and returns the encoding to store
// beside it. Without an active key it returns identity and plain itself.
// Each call draws a fresh random nonce; the encoding is authenticated with
// the data, so relabelling a value with another key id fails to open.
func (kr *Keyring) Seal(plain []byte) (encoding string, sealed []byte, err error) {
	if !kr.Enabled() {
		return Identity, plain, nil
	}
	k := kr.active
	encoding = encodingPrefix + k.ID
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, fmt.Errorf("sealing: reading a nonce: %w", err)
	}
	return encoding, k.aead.Seal(nonce, nonce, plain, []byte(encoding)), nil
}

// Open returns the plaintext of stored, sealed with encoding. identity (and
// the empty encoding of rows older than the column) pass through. Open is
// safe on a nil keyring for identity data.
func (kr *Keyring) Open(encoding string, stored []byte) ([]byte, error) {
	if encoding == "" || encoding == Identity {
		return stored, nil
	}
	id, ok := strings.CutPrefix(encoding, encodingPrefix)
	if !ok {
		return nil, fmt.Errorf("opening data stored as %q: %w", truncateForError(encoding), ErrUnknownEncoding)
	}
	var k *Key
	if kr != nil {
		k = kr.keys[id]
	}
	if k == nil {
		return nil, fmt.Errorf("opening data sealed with key %q: %w", truncateForError(id), ErrUnknownKey)
	}
	ns := k.aead.NonceSize()
	if len(stored) < ns+k.aead.Overhead() {
		return nil, fmt.Errorf("opening data sealed with key %q: %w", id, ErrCorrupt)
	}
	plain, err := k.aead.Open(nil, stored[:ns], stored[ns:], []byte(encoding))
	if err != nil {
		return nil, fmt.Errorf("opening data sealed with key %q: %w", id, ErrCorrupt)
	}
	return plain, nil
}

// fieldSep separates the encoding from the sealed bytes in a sealed field.
const fieldSep = 0

// SealField seals a value kept in a single column (an alert channel's URL or
// secret), prefixing the encoding so the column describes itself:
// encoding, a zero byte, then the sealed bytes. An empty plain gives nil.
func (kr *Keyring) SealField(plain []byte) ([]byte, error) {
	if len(plain) == 0 {
		return nil, nil
	}
	enc, sealed, err := kr.Seal(plain)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(enc)+1+len(sealed))
	out = append(out, enc...)
	out = append(out, fieldSep)
	return append(out, sealed...), nil
}

// OpenField opens a value sealed by SealField. nil or empty gives nil.
func (kr *Keyring) OpenField(stored []byte) ([]byte, error) {
	enc, sealed, err := SplitField(stored)
	if err != nil || enc == "" {
		return nil, err
	}
	return kr.Open(enc, sealed)
}

// SplitField returns the encoding and sealed bytes of a sealed field ("" and
// nil for an empty one).
func SplitField(stored []byte) (encoding string, sealed []byte, err error) {
	if len(stored) == 0 {
		return "", nil, nil
	}
	for i, b := range stored {
		if b == fieldSep {
			enc := string(stored[:i])
			if enc == Identity || strings.HasPrefix(enc, encodingPrefix) {
				return enc, stored[i+1:], nil
			}
			break
		}
		if i > len(encodingPrefix)+maxKeyID {
			break
		}
	}
	return "", nil, fmt.Errorf("reading a sealed field: %w", ErrUnknownEncoding)
}

// truncateForError keeps attacker- or corruption-supplied text short in
// error messages.
func truncateForError(s string) string {
	if len(s) > 48 {
		return s[:48] + "…"
	}
	return s
}
