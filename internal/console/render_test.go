package console

import (
	"html/template"
	"strings"
	"testing"
)

func TestQueryEscapesOnce(t *testing.T) {
	tpl := template.Must(template.New("x").Funcs(funcs).Parse(`<a href="/console/profiles?q={{query .}}">x</a>`))
	var b strings.Builder
	if err := tpl.Execute(&b, `email:a b&c/d"<script>`); err != nil {
		t.Fatal(err)
	}
	want := `<a href="/console/profiles?q=email%3Aa&#43;b%26c%2Fd%22%3Cscript%3E">x</a>`
	if b.String() != want {
		t.Errorf("query in an href:\n got %s\nwant %s", b.String(), want)
	}
}
