package privacy

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/weftdata/weft/internal/store"
)

// Signature headers: OpenDSR's, and OpenGDPR 1.0's names, which the spec
// (§10.1 of 2.0) asks processors to keep honouring.
const (
	HeaderSignature       = "X-OpenDSR-Signature"
	HeaderDomain          = "X-OpenDSR-Processor-Domain"
	headerSignatureLegacy = "X-OpenGDPR-Signature"
	headerDomainLegacy    = "X-OpenGDPR-Processor-Domain"
)

// KeyBits is the size of the processor's RSA key.
const KeyBits = 2048

// certificateValidity is how long the self-signed certificate is valid.
const certificateValidity = 10 * 365 * 24 * time.Hour

// ErrNoKeyStorage is a processor with nowhere to keep its key: neither a
// secret key nor a data directory.
var ErrNoKeyStorage = errors.New("privacy requests need somewhere to keep the signing key: set WEFT_SECRET_KEY or --secret-key-file (the key is then stored sealed in the database), or give a data directory (--data)")

// signer signs response and callback bodies with the processor's key.
type signer struct {
	key     *rsa.PrivateKey
	certPEM []byte
	urlKey  []byte // HMAC key of export URLs, derived from the private key
}

// Sign returns the base64 signature of body: RSA PKCS #1 v1.5 over its
// SHA-256, as the spec's security guidelines verify it.
func (s *signer) Sign(body []byte) string {
	sum := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, sum[:])
	if err != nil { // only for keys too small for the digest
		panic("privacy: sign: " + err.Error())
	}
	return base64.StdEncoding.EncodeToString(sig)
}

func newSigner(key *rsa.PrivateKey, certPEM []byte) *signer {
	m := hmac.New(sha256.New, []byte("weft-privacy-export-url-v1"))
	m.Write(x509.MarshalPKCS1PrivateKey(key))
	return &signer{key: key, certPEM: certPEM, urlKey: m.Sum(nil)}
}

// newKeyPair makes a key and a self-signed certificate for domain.
func newKeyPair(domain string, now time.Time) (*rsa.PrivateKey, []byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: domain, Organization: []string{"Weft OpenDSR processor"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certificateValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	if ip := net.ParseIP(domain); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{domain}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// keyFiles are the names of the key pair in the key directory.
const (
	keyFile  = "processor-key.pem"
	certFile = "processor-cert.pem"
)

// loadFileSigner reads the key pair from dir, making it on first use.
func loadFileSigner(dir, domain string, now time.Time) (*signer, error) {
	keyPath, certPath := filepath.Join(dir, keyFile), filepath.Join(dir, certFile)
	keyPEM, err := os.ReadFile(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		key, cert, err := newKeyPair(domain, now)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("privacy key directory: %w", err)
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		// The certificate first: a key file without its certificate would
		// be unusable after a crash between the two writes.
		if err := writeFileAtomic(certPath, cert, 0o644); err != nil {
			return nil, err
		}
		if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("privacy signing key: %w", err)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("privacy certificate (delete %s to make a new key pair): %w", keyPath, err)
	}
	return parsePair(keyPEM, certPEM, keyPath)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func parsePair(keyPEM, certPEM []byte, where string) (*signer, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, fmt.Errorf("privacy signing key %s is not PEM: delete it to make a new key pair", where)
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("privacy signing key %s: %w", where, err)
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil {
		return nil, fmt.Errorf("privacy certificate of %s is not PEM", where)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, fmt.Errorf("privacy certificate of %s: %w", where, err)
	}
	if pub, ok := cert.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, fmt.Errorf("privacy certificate of %s does not match its key", where)
	}
	return newSigner(key, certPEM), nil
}

// sealKey derives the AES-256 key that seals the private key in
// privacy_keys from the secret key: the secret key itself also seals the
// secrets store, and one key is not used for two things.
func sealKey(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("weft-privacy-processor-key-v1"))
	return m.Sum(nil)
}

// sealAAD binds the sealed key to its row.
var sealAAD = []byte("privacy_keys/1")

func seal(secret, plain []byte) (string, error) {
	aead, err := gcm(secret)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return "v1:" + base64.StdEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, sealAAD)), nil
}

func unseal(secret []byte, sealed string) ([]byte, error) {
	aead, err := gcm(secret)
	if err != nil {
		return nil, err
	}
	enc, ok := strings.CutPrefix(sealed, "v1:")
	raw, err := base64.StdEncoding.DecodeString(enc)
	if !ok || err != nil || len(raw) < aead.NonceSize() {
		return nil, errors.New("privacy_keys holds a malformed sealed key")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, raw[:n], raw[n:], sealAAD)
	if err != nil {
		return nil, errors.New("the privacy signing key in privacy_keys does not decrypt with the configured secret key: it was sealed under another key (delete the row to make a new key pair; controllers then fetch the new certificate)")
	}
	return plain, nil
}

func gcm(secret []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(sealKey(secret))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// loadDBSigner reads the key pair from privacy_keys, making it on first
// use. Two processes racing both insert with ON CONFLICT DO NOTHING and
// read the winner.
func loadDBSigner(ctx context.Context, db store.Executor, secret []byte, domain string, now time.Time) (*signer, error) {
	var certPEM, sealed string
	err := db.QueryRowContext(ctx, db.Query("PrivacyKeyGet")).Scan(&certPEM, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		if err := insertKeyPair(ctx, db, secret, domain, now); err != nil {
			return nil, err
		}
		err = db.QueryRowContext(ctx, db.Query("PrivacyKeyGet")).Scan(&certPEM, &sealed)
	}
	if err != nil {
		return nil, fmt.Errorf("read the privacy signing key: %w", err)
	}
	keyPEM, err := unseal(secret, sealed)
	if err != nil {
		return nil, err
	}
	return parsePair(keyPEM, []byte(certPEM), "privacy_keys")
}

// insertKeyPair makes a key pair and stores it unless another process did
// first.
func insertKeyPair(ctx context.Context, db store.Executor, secret []byte, domain string, now time.Time) error {
	key, cert, err := newKeyPair(domain, now)
	if err != nil {
		return err
	}
	sealed, err := seal(secret, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, db.Query("PrivacyKeyInsert"), string(cert), sealed, now); err != nil {
		return fmt.Errorf("store the privacy signing key: %w", err)
	}
	return nil
}
