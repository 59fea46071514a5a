package kv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/weftdata/weft/internal/store"
)

// SecretKeyBytes is the length of the secret key: AES-256.
const SecretKeyBytes = 32

// How operators give the secret key, for messages.
const secretKeyHelp = "set WEFT_SECRET_KEY or weft serve --secret-key-file to 32 random bytes, base64 or hex (weft secrets keygen prints one)"

var (
	// ErrNoSecretKey is a write of a secret, or a read of a stored one, on
	// a server started without a secret key.
	ErrNoSecretKey = errors.New("no secret key: " + secretKeyHelp)
	// ErrWrongKey is a secret that does not decrypt with the key in use:
	// it was written under another key, or the stored bytes were altered.
	ErrWrongKey = errors.New("secret does not decrypt with the configured secret key (WEFT_SECRET_KEY, --secret-key-file): it was written under another key, or altered")
)

// sealedPrefix starts every stored secret: the format version, so that a
// later format (or key rotation) can tell old values apart.
const sealedPrefix = "v1:"

// sealer encrypts records with AES-256-GCM; aead is nil without a key.
type sealer struct {
	aead cipher.AEAD
}

// NewSecrets returns the secrets store, encrypting with key (SecretKeyBytes
// long). A nil key gives a store whose writes fail with ErrNoSecretKey.
func NewSecrets(db store.Executor, key []byte, opts *Options) (*Store, error) {
	s := &sealer{}
	if key != nil {
		if len(key) != SecretKeyBytes {
			return nil, fmt.Errorf("secret key is %d bytes, want %d: %s", len(key), SecretKeyBytes, secretKeyHelp)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		if s.aead, err = cipher.NewGCM(block); err != nil {
			return nil, err
		}
	}
	return newStore(db, StoreSecrets, s, opts), nil
}

// aad binds a ciphertext to its store and key.
func aad(storeName, key string) []byte { return []byte(storeName + "\x00" + key) }

func (s *sealer) seal(storeName, key string, plain []byte) (string, error) {
	if s.aead == nil {
		return "", fmt.Errorf("%s %q: %w", storeName, key, ErrNoSecretKey)
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	sealed := s.aead.Seal(nonce, nonce, plain, aad(storeName, key))
	return sealedPrefix + base64.StdEncoding.EncodeToString(sealed), nil
}

func (s *sealer) open(storeName, key, val string) ([]byte, error) {
	if s.aead == nil {
		return nil, fmt.Errorf("%s %q: %w", storeName, key, ErrNoSecretKey)
	}
	enc, ok := strings.CutPrefix(val, sealedPrefix)
	if !ok {
		return nil, fmt.Errorf("%s %q: stored value is not in a known format: %w", storeName, key, ErrWrongKey)
	}
	sealed, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(sealed) < s.aead.NonceSize() {
		return nil, fmt.Errorf("%s %q: stored value is malformed: %w", storeName, key, ErrWrongKey)
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, sealed[:n], sealed[n:], aad(storeName, key))
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", storeName, key, ErrWrongKey)
	}
	return plain, nil
}

// ParseSecretKey decodes a secret key given as 64 hex digits or as base64
// (standard or URL alphabet, padded or not) of 32 bytes. Surrounding
// whitespace is ignored.
func ParseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*SecretKeyBytes {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != SecretKeyBytes {
				return nil, fmt.Errorf("secret key decodes to %d bytes, want %d: %s", len(b), SecretKeyBytes, secretKeyHelp)
			}
			return b, nil
		}
	}
	return nil, errors.New("secret key is neither 64 hex digits nor base64: " + secretKeyHelp)
}

// ReadSecretKeyFile reads a key file holding what ParseSecretKey accepts.
func ReadSecretKeyFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key file: %w", err)
	}
	key, err := ParseSecretKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return key, nil
}

// GenerateSecretKey returns a new random key, base64-encoded.
func GenerateSecretKey() string {
	key := make([]byte, SecretKeyBytes)
	_, _ = rand.Read(key) // never fails
	return base64.StdEncoding.EncodeToString(key)
}
