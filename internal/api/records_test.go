package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/weftdata/weft/internal/api"
	"github.com/weftdata/weft/internal/kv"
	"github.com/weftdata/weft/internal/store"
	"github.com/weftdata/weft/job"
)

type recordInfo struct {
	Key     string   `json:"key"`
	Fields  []string `json:"fields"`
	Removed []string `json:"removed"`
}

// newRecordServer serves settings and secrets (under key, nil for none).
func newRecordServer(t *testing.T, st *store.DB, key []byte) *testServer {
	t.Helper()
	secrets, err := kv.NewSecrets(st, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return newServerOn(t, st, api.Config{Settings: kv.NewSettings(st, nil), Secrets: secrets})
}

func expectJSON[T any](t *testing.T, what string, r response, want T) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s: status %d (%s)", what, r.status, r.body)
	}
	if got := decode[T](t, r); !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

func TestSettingsAPI(t *testing.T) {
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			s := newRecordServer(t, openStore(t, b), nil)
			put := func(method, path, body string) response {
				return s.do(t, method, path, jsonHeader, []byte(body))
			}
			expectJSON(t, "get of a missing key", s.do(t, "GET", "/v1/settings/crm", nil, nil), job.Record{})
			expectJSON(t, "put", put("PUT", "/v1/settings/crm", `{"url":"https://crm.example","batch":100}`),
				recordInfo{Key: "crm", Fields: []string{"batch", "url"}})
			expectJSON(t, "get", s.do(t, "GET", "/v1/settings/crm", nil, nil), job.Record{"url": "https://crm.example", "batch": 100.0})
			expectJSON(t, "get of a field", s.do(t, "GET", "/v1/settings/crm?field=batch", nil, nil), job.Record{"batch": 100.0})
			expectJSON(t, "patch", put("PATCH", "/v1/settings/crm", `{"batch":null,"region":"eu"}`),
				recordInfo{Key: "crm", Fields: []string{"region", "url"}})
			expectJSON(t, "after patch", s.do(t, "GET", "/v1/settings/crm", nil, nil), job.Record{"url": "https://crm.example", "region": "eu"})

			// A job sees what operators set.
			got, err := kv.NewSettings(s.store, nil).Get(context.Background(), "crm", "region")
			if err != nil || got["region"] != "eu" {
				t.Fatalf("settings seen by a job: %v, %v", got, err)
			}
			put("PUT", "/v1/settings/other%20key", `{"a":true}`)
			list := decode[struct{ Settings []kv.KeyInfo }](t, s.do(t, "GET", "/v1/settings", nil, nil))
			if len(list.Settings) != 2 || list.Settings[0].Key != "crm" || list.Settings[1].Key != "other key" ||
				!reflect.DeepEqual(list.Settings[0].Fields, []string{"region", "url"}) {
				t.Fatalf("list = %+v", list)
			}

			expectJSON(t, "delete of a field", s.do(t, "DELETE", "/v1/settings/crm?field=region&field=none", nil, nil),
				recordInfo{Key: "crm", Removed: []string{"region"}})
			expectJSON(t, "delete", s.do(t, "DELETE", "/v1/settings/crm", nil, nil), recordInfo{Key: "crm", Removed: []string{"url"}})
			expectJSON(t, "get after delete", s.do(t, "GET", "/v1/settings/crm", nil, nil), job.Record{})

			expectError(t, put("PUT", "/v1/settings/crm", `[1]`), http.StatusBadRequest, "invalid_body", "JSON object")
			expectError(t, put("PUT", "/v1/settings/crm", `null`), http.StatusBadRequest, "invalid_body", "JSON object")
			expectError(t, put("PATCH", "/v1/settings/crm", `{"a":`), http.StatusBadRequest, "invalid_body", "JSON object")
			big := fmt.Sprintf(`{"v":%q}`, strings.Repeat("x", job.MaxRecordBytes))
			expectError(t, put("PUT", "/v1/settings/crm", big), http.StatusRequestEntityTooLarge, "record_too_large", `settings "crm"`)
			expectError(t, s.do(t, "GET", "/v1/settings/"+strings.Repeat("k", kv.MaxKeyBytes+1), nil, nil), http.StatusBadRequest, "invalid_key", "512 bytes")
		})
	}
}

func TestSecretsAPI(t *testing.T) {
	const token = "sk_live_TOKEN_4242"
	key := bytes.Repeat([]byte{1}, kv.SecretKeyBytes)
	for _, b := range backends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			st := openStore(t, b)
			s := newRecordServer(t, st, key)
			noValue := func(what string, r response) {
				t.Helper()
				if bytes.Contains(r.body, []byte(token)) {
					t.Fatalf("%s shows the secret: %s", what, r.body)
				}
			}
			r := s.do(t, "PUT", "/v1/secrets/crm", jsonHeader, []byte(`{"token":"`+token+`","user":"importer"}`))
			noValue("put", r)
			expectJSON(t, "put", r, recordInfo{Key: "crm", Fields: []string{"token", "user"}})
			r = s.do(t, "GET", "/v1/secrets", nil, nil)
			noValue("list", r)
			list := decode[struct{ Secrets []kv.KeyInfo }](t, r)
			if len(list.Secrets) != 1 || list.Secrets[0].Key != "crm" || !reflect.DeepEqual(list.Secrets[0].Fields, []string{"token", "user"}) {
				t.Fatalf("list = %+v", list)
			}
			r = s.do(t, "GET", "/v1/secrets/crm", nil, nil)
			noValue("get", r)
			expectJSON(t, "get", r, recordInfo{Key: "crm", Fields: []string{"token", "user"}})
			r = s.do(t, "PATCH", "/v1/secrets/crm", jsonHeader, []byte(`{"user":null}`))
			expectJSON(t, "patch", r, recordInfo{Key: "crm", Fields: []string{"token"}})

			// Jobs read the value; the database holds only ciphertext.
			secrets, err := kv.NewSecrets(st, key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := secrets.Get(context.Background(), "crm"); err != nil || got["token"] != token {
				t.Fatalf("secret seen by a job: %v, %v", got, err)
			}
			var stored string
			if err := st.QueryRowContext(context.Background(), "SELECT value FROM kv_records WHERE store = 'secrets' AND key = 'crm'").Scan(&stored); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(stored, token) {
				t.Fatalf("stored in clear: %s", stored)
			}

			// A server without a key, or with another one.
			none := newRecordServer(t, st, nil)
			expectError(t, none.do(t, "PUT", "/v1/secrets/new", jsonHeader, []byte(`{"a":"b"}`)),
				http.StatusServiceUnavailable, "secret_key_missing", "WEFT_SECRET_KEY")
			other := newRecordServer(t, st, bytes.Repeat([]byte{2}, kv.SecretKeyBytes))
			expectError(t, other.do(t, "GET", "/v1/secrets", nil, nil), http.StatusInternalServerError, "secret_key_mismatch", `secrets "crm"`)

			expectJSON(t, "delete", s.do(t, "DELETE", "/v1/secrets/crm", nil, nil), recordInfo{Key: "crm", Removed: []string{"token"}})
			expectJSON(t, "list after delete", s.do(t, "GET", "/v1/secrets", nil, nil), map[string][]kv.KeyInfo{"secrets": {}})
		})
	}
}

// TestRecordRoutesNeedConfig: without stores, the routes do not exist.
func TestRecordRoutesNeedConfig(t *testing.T) {
	s := newServer(t, "duckdb", api.Config{})
	expectError(t, s.do(t, "GET", "/v1/settings/x", nil, nil), http.StatusNotFound, "not_found", "no route")
}
