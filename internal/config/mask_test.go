package config

import (
	"errors"
	"strings"
	"testing"
)

const secretDoc = `# a comment
delivery:
  api_keys:
    - sk_live_0123456789abcdef
    - short
jobs:
  nightly:
    parameters:
      api_token: tok_ABCDEFGHIJKLMNOP
      db_password: hunter2
      credentials: {user: alice, pass: s3cret}
      region: eu
      secret: null
  rotate_token:
    cron: 0 0 6 * * ?
plugins:
  - name: scorer
    variables:
      - {name: api_key, default: plugin-key-0000000001}
      - {name: depth, default: 3}
`

func TestMaskDocument(t *testing.T) {
	out, err := MaskDocument([]byte(secretDoc))
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, secret := range []string{"sk_live_0123456789ab", "short", "tok_ABCDEFGHIJKL", "hunter2", "alice", "s3cret", "plugin-key-00000"} {
		if strings.Contains(got, secret) {
			t.Errorf("%q shown in\n%s", secret, got)
		}
	}
	for _, kept := range []string{"# a comment", `"********cdef"`, `"********MNOP"`, `"********0001"`, "region: eu", "default: 3", "secret: null", "cron: 0 0 6 * * ?"} {
		if !strings.Contains(got, kept) {
			t.Errorf("%q missing from\n%s", kept, got)
		}
	}
	// Without secrets the document comes back as it was, byte for byte.
	plain := "stitching:\n  rules: []   # none yet\n"
	if out, _ := MaskDocument([]byte(plain)); string(out) != plain {
		t.Errorf("changed a document without secrets: %q", out)
	}
}

func TestMaskJSONKeepsOrder(t *testing.T) {
	in := `{"stitching":{"rules":[]},"delivery":{"api_keys":["sk_live_0123456789abcdef"],"refresh":"30s","x":1.5,"y":true,"z":null,"sql":"a -> b < c"}}`
	got, err := MaskJSON(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"stitching":{"rules":[]},"delivery":{"api_keys":["********cdef"],"refresh":"30s","x":1.5,"y":true,"z":null,"sql":"a -> b < c"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestUnmask(t *testing.T) {
	masked, err := MaskDocument([]byte(secretDoc))
	if err != nil {
		t.Fatal(err)
	}
	back, err := Unmask(masked, []byte(secretDoc))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"sk_live_0123456789abcdef", "- short", "tok_ABCDEFGHIJKLMNOP", "hunter2", "alice", "s3cret", "plugin-key-0000000001"} {
		if !strings.Contains(string(back), secret) {
			t.Errorf("%q not put back in\n%s", secret, back)
		}
	}
	// A masked value at a place where nothing in force has that mask.
	for doc, field := range map[string]string{
		"delivery:\n  api_keys: ['********zzzz']\n":              "delivery.api_keys[0]",
		"jobs:\n  other:\n    parameters: {token: '********'}\n": "jobs.other.parameters.token",
	} {
		_, err := Unmask([]byte(doc), []byte(secretDoc))
		var cfgErr *Error
		if !errors.As(err, &cfgErr) || cfgErr.Field != field {
			t.Errorf("%q: %v, want an error at %s", doc, err, field)
		}
		if _, err := Unmask([]byte(doc), nil); err == nil {
			t.Errorf("%q with nothing in force: no error", doc)
		}
	}
	// Outside secret places the prefix is plain text, and a document
	// without it is not touched.
	doc := "jobs:\n  x:\n    description: '******** stars'\n"
	if out, err := Unmask([]byte(doc), nil); err != nil || string(out) != doc {
		t.Errorf("%q: %q %v", doc, out, err)
	}
}
