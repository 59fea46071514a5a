package kv_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

var (
	testKey  = bytes.Repeat([]byte{7}, kv.SecretKeyBytes)
	otherKey = bytes.Repeat([]byte{8}, kv.SecretKeyBytes)
)

func newSecrets(t *testing.T, db *store.DB, key []byte) *kv.Store {
	t.Helper()
	s, err := kv.NewSecrets(db, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func storedValues(t *testing.T, db *store.DB) map[string]string {
	t.Helper()
	rows, err := db.QueryContext(ctx(), "SELECT key, value FROM kv_records WHERE store = 'secrets'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	return out
}

func TestSecrets(t *testing.T) {
	eachBackend(t, func(t *testing.T, db *store.DB) {
		s := newSecrets(t, db, testKey)
		const token = "sk_live_TOKEN_4242"
		if _, err := s.Put(ctx(), "crm", rec("token", token, "user", "weft-importer")); err != nil {
			t.Fatal(err)
		}
		equal(t, "get", must[job.Record](t)(s.Get(ctx(), "crm")), rec("token", token, "user", "weft-importer"))

		// At rest: neither the values nor the field names in clear.
		first := storedValues(t, db)["crm"]
		for _, clear := range []string{token, "weft-importer", "token", "user"} {
			if strings.Contains(first, clear) {
				t.Fatalf("stored value %q contains %q", first, clear)
			}
		}
		// A random nonce per write: the same record encrypts differently.
		if _, err := s.Put(ctx(), "crm", rec("token", token, "user", "weft-importer")); err != nil {
			t.Fatal(err)
		}
		if again := storedValues(t, db)["crm"]; again == first {
			t.Fatal("two writes of one record stored the same ciphertext")
		}
		// Patch and Delete work on the decrypted record.
		if _, err := s.Patch(ctx(), "crm", job.Merge(rec("region", "eu"))); err != nil {
			t.Fatal(err)
		}
		equal(t, "delete of a field", must[job.Record](t)(s.Delete(ctx(), "crm", "user")), rec("user", "weft-importer"))
		equal(t, "keys", fieldsOf(t, s), map[string][]string{"crm": {"region", "token"}})

		// Another key: a clear error, on reads and on listing.
		wrong := newSecrets(t, db, otherKey)
		_, err := wrong.Get(ctx(), "crm")
		wantErr(t, err, kv.ErrWrongKey, `secrets "crm"`, "WEFT_SECRET_KEY")
		_, err = wrong.Keys(ctx())
		wantErr(t, err, kv.ErrWrongKey)
		_, err = wrong.Patch(ctx(), "crm", job.Merge(rec("x", 1)))
		wantErr(t, err, kv.ErrWrongKey)

		// A ciphertext moved to another key does not decrypt there.
		if _, err := db.ExecContext(ctx(), "INSERT INTO kv_records (store, key, value, version, updated_at) SELECT store, 'moved', value, 1, updated_at FROM kv_records WHERE store = 'secrets' AND key = 'crm'"); err != nil {
			t.Fatal(err)
		}
		_, err = s.Get(ctx(), "moved")
		wantErr(t, err, kv.ErrWrongKey, `"moved"`)

		// No key: writes fail saying how to set one; missing keys still
		// read as empty, stored ones fail.
		none := newSecrets(t, db, nil)
		_, err = none.Put(ctx(), "new", rec("a", "b"))
		wantErr(t, err, kv.ErrNoSecretKey, `secrets "new"`, "WEFT_SECRET_KEY", "--secret-key-file")
		_, err = none.Delete(ctx(), "crm")
		wantErr(t, err, kv.ErrNoSecretKey)
		equal(t, "get of a missing key without a key", must[job.Record](t)(none.Get(ctx(), "absent")), job.Record{})
		_, err = none.Get(ctx(), "crm")
		wantErr(t, err, kv.ErrNoSecretKey)
		equal(t, "stored after refused writes", len(storedValues(t, db)), 2)
	})
}

func fieldsOf(t *testing.T, s *kv.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, k := range must[[]kv.KeyInfo](t)(s.Keys(ctx())) {
		out[k.Key] = k.Fields
	}
	return out
}

func TestParseSecretKey(t *testing.T) {
	raw := []byte("0123456789abcdef0123456789abcdef")
	cases := []struct {
		name, in, err string
	}{
		{"hex", hex.EncodeToString(raw), ""},
		{"base64", base64.StdEncoding.EncodeToString(raw) + "\n", ""},
		{"base64 unpadded", base64.RawStdEncoding.EncodeToString(raw), ""},
		{"base64 url", base64.URLEncoding.EncodeToString(raw), ""},
		{"short", base64.StdEncoding.EncodeToString(raw[:16]), "decodes to 16 bytes, want 32"},
		{"garbage", "not a key!", "neither 64 hex digits nor base64"},
		{"empty", "", "decodes to 0 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			key, err := kv.ParseSecretKey(c.in)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "WEFT_SECRET_KEY") {
					t.Fatalf("error %v, want one with %q and how to set the key", err, c.err)
				}
				return
			}
			if err != nil || !bytes.Equal(key, raw) {
				t.Fatalf("ParseSecretKey(%q) = %x, %v", c.in, key, err)
			}
		})
	}
	gen, err := kv.ParseSecretKey(kv.GenerateSecretKey())
	if err != nil || len(gen) != kv.SecretKeyBytes {
		t.Fatalf("generated key: %x, %v", gen, err)
	}
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, []byte(hex.EncodeToString(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if key, err := kv.ReadSecretKeyFile(path); err != nil || !bytes.Equal(key, raw) {
		t.Fatalf("ReadSecretKeyFile = %x, %v", key, err)
	}
	if _, err := kv.ReadSecretKeyFile(path + ".missing"); err == nil || !strings.Contains(err.Error(), "secret key file") {
		t.Fatalf("missing key file: %v", err)
	}
	if _, err := kv.NewSecrets(nil, raw[:31], nil); err == nil || !strings.Contains(err.Error(), "31 bytes, want 32") {
		t.Fatalf("NewSecrets with a short key: %v", err)
	}
}
