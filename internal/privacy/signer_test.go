package privacy

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store/dbtest"
	"github.com/weftdata/weft/internal/store/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// checkSigns verifies a signature made by s with the certificate it serves.
func checkSigns(t *testing.T, s *Service) *x509.Certificate {
	t.Helper()
	ctx := context.Background()
	certPEM, err := s.Certificate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	body := []byte(`{"subject_request_id":"x"}`)
	if err := s.SignHeaders(ctx, h, body); err != nil {
		t.Fatal(err)
	}
	sig, _ := base64.StdEncoding.DecodeString(h.Get(HeaderSignature))
	sum := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if h.Get(HeaderDomain) != "weft.example" || h.Get("X-OpenGDPR-Signature") != h.Get(HeaderSignature) || cert.VerifyHostname("weft.example") != nil {
		t.Fatalf("headers %v, certificate for %v", h, cert.DNSNames)
	}
	return cert
}

func openService(t *testing.T, backend string, secret []byte, keyDir string) (*Service, error) {
	t.Helper()
	db := dbtest.Open(t, backend)
	return Open(context.Background(), Options{DB: db, BaseURL: "https://weft.example:7700/", SecretKey: secret, KeyDir: keyDir,
		ExportURL: "file://" + filepath.ToSlash(t.TempDir())})
}

// TestKeyInFile is the quickstart case, no secret key: the key pair is a
// file of the data directory only its owner reads, kept across restarts,
// and nothing of it is in the database.
func TestKeyInFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "privacy-key")
	s, err := openService(t, "duckdb", nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	cert := checkSigns(t, s)
	fi, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	var n int
	if err := s.opts.DB.QueryRowContext(context.Background(), "SELECT count(*) FROM privacy_keys").Scan(&n); err != nil || n != 0 {
		t.Fatalf("privacy_keys rows: %d %v", n, err)
	}
	again, err := openService(t, "duckdb", nil, dir)
	if err != nil {
		t.Fatal(err)
	}
	if c := checkSigns(t, again); !c.Equal(cert) {
		t.Error("a restart made a new key pair")
	}
	if _, err := Open(context.Background(), Options{BaseURL: "http://127.0.0.1:7700"}); !errors.Is(err, ErrNoKeyStorage) {
		t.Errorf("no secret key, no key directory: %v", err)
	}
}

// TestKeySealed: with a secret key the private key is in privacy_keys,
// sealed; SQL reads no plain key, and another secret key cannot open it.
func TestKeySealed(t *testing.T) {
	for _, backend := range dbtest.Backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			secret, _ := kv.ParseSecretKey(kv.GenerateSecretKey())
			s, err := openService(t, backend, secret, "")
			if err != nil {
				t.Fatal(err)
			}
			checkSigns(t, s)
			sg, _ := s.signer(context.Background())
			der := x509.MarshalPKCS1PrivateKey(sg.key)
			var cert, sealed string
			if err := s.opts.DB.QueryRowContext(context.Background(), "SELECT certificate, sealed_key FROM privacy_keys").Scan(&cert, &sealed); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(sealed, "PRIVATE KEY") || strings.Contains(sealed, base64.StdEncoding.EncodeToString(der[:48])) ||
				bytes.Contains([]byte(sealed), der[:48]) || !strings.HasPrefix(sealed, "v1:") {
				t.Fatalf("privacy_keys holds the key in the clear: %.80s", sealed)
			}
			// Another process with the same secret key signs with the same key.
			s2, err := Open(context.Background(), Options{DB: s.opts.DB, BaseURL: "https://weft.example", SecretKey: secret, ExportURL: s.opts.ExportURL})
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := s2.Certificate(context.Background()); string(c) != cert {
				t.Error("a second process made another key pair")
			}
			other, _ := kv.ParseSecretKey(kv.GenerateSecretKey())
			s3, err := Open(context.Background(), Options{DB: s.opts.DB, BaseURL: "https://weft.example", SecretKey: other, ExportURL: s.opts.ExportURL})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s3.Certificate(context.Background()); err == nil || !strings.Contains(err.Error(), "does not decrypt with the configured secret key") {
				t.Errorf("another secret key: %v", err)
			}
		})
	}
}

// TestExportURL: a URL opens its file until it expires; a changed part or
// another server's key is refused.
func TestExportURL(t *testing.T) {
	s, err := openService(t, "duckdb", nil, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id := "a7551968-d5d6-44b2-9831-815ac9017798"
	if err := s.exports.WriteAll(ctx, id+"/"+DocumentFile, []byte(`{"x":1}`), nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s.opts.Now = func() time.Time { return now }
	exp := now.Add(time.Hour).Truncate(time.Second)
	u, err := s.exportURL(ctx, id, DocumentFile, exp)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(strings.TrimPrefix(u, "https://weft.example:7700"+ExportPathPrefix), "/")
	if len(parts) != 4 {
		t.Fatalf("URL %s", u)
	}
	rd, err := s.OpenExport(ctx, parts[0], parts[1], parts[2], parts[3])
	if err != nil {
		t.Fatal(err)
	}
	rd.Close()
	if _, err := s.OpenExport(ctx, parts[0], EventsFile, parts[2], parts[3]); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another file: %v", err)
	}
	if _, err := s.OpenExport(ctx, parts[0], parts[1], "9999999999", parts[3]); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another expiry: %v", err)
	}
	other, _ := openService(t, "duckdb", nil, t.TempDir())
	if _, err := other.OpenExport(ctx, parts[0], parts[1], parts[2], parts[3]); !errors.Is(err, ErrBadSignature) {
		t.Errorf("another server: %v", err)
	}
	s.opts.Now = func() time.Time { return exp }
	var expired *ExpiredError
	if _, err := s.OpenExport(ctx, parts[0], parts[1], parts[2], parts[3]); !errors.As(err, &expired) {
		t.Errorf("expired: %v", err)
	}
	s.opts.Now = func() time.Time { return now }
	gone, _ := s.exportURL(ctx, "b7551968-d5d6-44b2-9831-815ac9017798", DocumentFile, exp)
	p := strings.Split(strings.TrimPrefix(gone, "https://weft.example:7700"+ExportPathPrefix), "/")
	if _, err := s.OpenExport(ctx, p[0], p[1], p[2], p[3]); !errors.Is(err, ErrNoExport) {
		t.Errorf("no such export: %v", err)
	}
}
