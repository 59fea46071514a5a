package plugin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestSubstitutePort(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, cmd string
		from      int
		want      string
	}{
		{"flask", "FLASK_APP=server.py flask run -h 0.0.0.0 -p 5000", 5000, "FLASK_APP=server.py flask run -h 0.0.0.0 -p 40123"},
		{"twice and glued", "serve --port=5000 --admin 5000x", 5000, "serve --port=40123 --admin 40123x"},
		{"longer numbers stay", "serve -p 50000 --workers 15000 5000", 5000, "serve -p 50000 --workers 15000 40123"},
		{"no port named", "serve -p 5000", 0, "serve -p 5000"},
		{"at the ends", "5000", 5000, "40123"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := substitutePort(c.cmd, c.from, 40123); got != c.want {
				t.Errorf("substitutePort(%q, %d) = %q, want %q", c.cmd, c.from, got, c.want)
			}
		})
	}
}

func TestMergeHTTP(t *testing.T) {
	t.Parallel()
	full := `{"port": 5000, "statusPath": "/status", "requestPath": "/a", "startServerCmd": "serve"}`
	h, err := MergeHTTP([]json.RawMessage{json.RawMessage(full), nil,
		json.RawMessage(`{"requestPath": "/b", "options": {"k": 1}, "explain": {"output": {}}}`)})
	if err != nil || h.Port != 5000 || h.StatusPath != "/status" || h.RequestPath != "/b" || h.StartServerCmd != "serve" ||
		string(h.Options) != `{"k":1}` || string(h.Explain) != `{"output":{}}` {
		t.Fatalf("merged %+v, %v", h, err)
	}
	if h, err := MergeHTTP([]json.RawMessage{nil}); h != nil || err != nil {
		t.Fatalf("no http: %+v %v", h, err)
	}
	if _, err := MergeHTTP([]json.RawMessage{json.RawMessage(`{"statusPath": "/s"}`)}); err == nil ||
		!strings.Contains(err.Error(), "http has no requestPath, startServerCmd") {
		t.Fatalf("incomplete: %v", err)
	}
}

func TestParseResultsHTTP(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ http, want string }{
		{`[1]`, "http must be a JSON object"},
		{`{"port": 0}`, "http.port is 0: it must be a whole number from 1 to 65535"},
		{`{"port": 80.5}`, "http.port is 80.5"},
		{`{"statusPath": "status"}`, `http.statusPath is "status": it must be a path starting with /`},
		{`{"requestPath": "/p?x=1"}`, `http.requestPath is "/p?x=1"`},
		{`{"startServerCmd": ""}`, "http.startServerCmd is \"\": it must be a non-empty string"},
		{`{"options": [1]}`, "http.options is [1]: it must be a JSON object"},
	} {
		_, err := ParseResults("initial", []byte(`{"status": {"code": "success"}, "http": `+c.http+`}`))
		var sf *StageFailure
		if !errors.As(err, &sf) || *sf.Status.Title != "Invalid results" || !strings.Contains(*sf.Status.Explanation, c.want) {
			t.Errorf("http %s: %v, want %q", c.http, err, c.want)
		}
	}
	res, err := ParseResults("initial", []byte(`{"status": {"code": "success"}, "http": {"statusPath": "/s"}}`))
	if err != nil || string(res.HTTP) != `{"statusPath": "/s"}` {
		t.Fatalf("partial http kept for merging: %v %v", res, err)
	}
}
