package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// View is what every page template gets: the layout reads the fields, the
// page its Data.
type View struct {
	Title string
	// Session is nil on the sign-in page and on errors before sign-in.
	Session *Session
	// CSRF is the token the page's forms carry (the session's, or the
	// sign-in form's).
	CSRF string
	// NoKeys: no key is configured; every page says so.
	NoKeys bool
	Nav    []NavLink
	Data   any
}

// NavLink is an entry of the navigation as drawn.
type NavLink struct {
	Label, Path string
	Current     bool
}

// funcs are the template functions every page may use.
var funcs = template.FuncMap{
	"time":     formatTime,
	"duration": formatDuration,
	"number":   formatNumber,
	"query":    queryValue,
}

// queryValue escapes a value for a URL's query, as a template.URL: the
// template escapes a plain string there again (a %3A would become
// %253A). The escaped text is only letters, digits, - _ . ~ % and +.
func queryValue(s string) template.URL { return template.URL(url.QueryEscape(s)) }

// parsePages parses each page of templates/ with the layout and the
// shared parts (files starting with "_"): page "x" is templates/x.html.
func parsePages() map[string]*template.Template {
	base := template.Must(template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/_*.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if strings.HasPrefix(name, "_") {
			continue
		}
		pages[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return pages
}

// render writes a page: the template runs into a buffer first, so that a
// failing template answers 500 instead of half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, page string, v *View) {
	t := c.pages[page]
	if t == nil {
		panic("console: no template " + page)
	}
	if v.Session != nil {
		v.CSRF = v.Session.CSRF
		v.NoKeys = v.Session.Open
		v.Nav = c.navFor(r)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "_layout.html", v); err != nil {
		c.log.Error("console: render", "page", page, "error", err)
		http.Error(w, "the page could not be drawn: "+err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// show renders a page of a signed-in session with status 200.
func (c *Console) show(w http.ResponseWriter, r *http.Request, s *Session, page, title string, data any) {
	c.render(w, r, http.StatusOK, page, &View{Title: title, Session: s, Data: data})
}

// fail renders an error page; s may be nil.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, s *Session, status int, msg string) {
	if status >= 500 {
		c.log.Error("console: "+msg, "path", r.URL.Path)
	}
	c.render(w, r, status, "error", &View{Title: http.StatusText(status), Session: s, Data: msg})
}

func (c *Console) navFor(r *http.Request) []NavLink {
	var links []NavLink
	for _, n := range c.nav {
		if n.show != nil && !n.show(r) {
			continue
		}
		cur := r.URL.Path == n.Path || (n.Path != Prefix && strings.HasPrefix(r.URL.Path, n.Path))
		links = append(links, NavLink{n.Label, n.Path, cur})
	}
	return links
}

func formatTime(t any) string {
	switch t := t.(type) {
	case time.Time:
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	case *time.Time:
		if t == nil {
			return ""
		}
		return formatTime(*t)
	}
	return fmt.Sprint(t)
}

func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// formatNumber writes an integer with thin groups: 1 234 567.
func formatNumber(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteRune('\u202f')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
