package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/weftdata/weft/internal/audit"
	"github.com/weftdata/weft/internal/keys"
)

// maxFormBytes bounds the body of a console form (the config editor posts
// the whole weft.yaml).
const maxFormBytes = 4 << 20

func (c *Console) authRoutes() {
	c.public("GET "+Prefix+"assets/", c.assets().ServeHTTP)
	c.public("GET "+Prefix+"login", c.loginForm)
	c.public("POST "+Prefix+"login", c.login)
	c.action("", "POST "+Prefix+"logout", "", c.logout)
	c.public(Prefix, c.notFound)
}

// signedIn wraps a route: the visitor must have a session (with no key
// configured, one is opened for them) whose key, checked again now, has
// the scope; an action must carry the session's CSRF token.
func (c *Console) signedIn(scope string, action bool, f func(w http.ResponseWriter, r *http.Request, s *Session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(w, r)
		if !ok {
			return
		}
		if scope != "" && !s.Can(scope) {
			c.fail(w, r, s, http.StatusForbidden, fmt.Sprintf("Your key %q lacks the scope %q, which this needs. Its scopes: %s.", s.Key.Name, scope, strings.Join(s.Key.Scopes, ", ")))
			return
		}
		if action {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				c.fail(w, r, s, http.StatusBadRequest, "The form could not be read: "+err.Error())
				return
			}
			if !sameToken(r.PostForm.Get("csrf_token"), s.CSRF) {
				c.fail(w, r, s, http.StatusForbidden, "The form's CSRF token is missing or wrong. Reload the page and try again.")
				return
			}
		}
		f(w, r, s)
	})
}

// session returns the visitor's session, or answers: a redirect to the
// sign-in page (saying when the session expired), or an error.
func (c *Console) session(w http.ResponseWriter, r *http.Request) (*Session, bool) {
	configured, err := c.cfg.Keys.Configured(r.Context())
	if err != nil {
		c.fail(w, r, nil, http.StatusInternalServerError, "The keys could not be read: "+err.Error())
		return nil, false
	}
	var s *Session
	expired := false
	if ck, err := r.Cookie(sessionCookie); err == nil {
		s, expired = c.sessions.get(ck.Value)
	}
	if !configured {
		if s == nil || !s.Open {
			s = c.sessions.create(openKey, "", true)
			setCookie(w, r, sessionCookie, s.id, 0)
		}
		return s, true
	}
	if s != nil && !s.Open {
		k, err := c.cfg.Keys.Check(r.Context(), s.presented)
		if err != nil {
			c.fail(w, r, nil, http.StatusInternalServerError, "The keys could not be read: "+err.Error())
			return nil, false
		}
		if k != nil {
			s.Key = k
			return s, true
		}
		c.sessions.end(s.id) // the key was revoked
	}
	c.toLogin(w, r, expired)
	return nil, false
}

// toLogin sends a visitor without a session to the sign-in page, which
// sends them back where they were going. Forms and scripts get 401.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request, expired bool) {
	q := url.Values{}
	if r.Method == http.MethodGet {
		q.Set("next", r.URL.RequestURI())
	}
	if expired {
		q.Set("expired", "1")
	}
	target := Prefix + "login"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Location", target)
		c.fail(w, r, nil, http.StatusUnauthorized, "You are not signed in, or your session expired. Sign in again.")
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// action registers a change: a route that needs scope and the CSRF token,
// recorded in the audit trail as auditAction (none when empty).
func (c *Console) action(scope, pattern, auditAction string, f func(w http.ResponseWriter, r *http.Request, s *Session)) {
	if auditAction == "" {
		c.page(scope, pattern, f)
		return
	}
	_, path, _ := strings.Cut(pattern, " ")
	c.page(scope, pattern, func(w http.ResponseWriter, r *http.Request, s *Session) {
		rec := &statusRecorder{ResponseWriter: w}
		ctx, summary := audit.WithSummary(r.Context())
		r = r.WithContext(ctx)
		defer func() {
			c.record(ctx, s, auditAction, r.Method, path, r.URL.Path, rec.status, summary())
		}()
		f(rec, r, s)
	})
}

// record writes an audit entry of a console change.
func (c *Console) record(ctx context.Context, s *Session, action, method, route, path string, status int, summary string) {
	if c.cfg.Audit == nil {
		return
	}
	if status == 0 {
		status = http.StatusOK
	}
	e := &audit.Entry{Action: action, Method: method, Route: route, Path: path, Status: status, Summary: summary, KeyID: s.Key.ID, KeyName: s.Key.Name}
	if err := c.cfg.Audit.Record(context.WithoutCancel(ctx), e); err != nil {
		c.log.Error("console: audit entry not recorded", "action", action, "key", s.Key.Name, "error", err)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// loginData is what the sign-in page shows.
type loginData struct {
	Next, Error string
	Expired     bool
	// NoKeys: no key is configured, the console is open.
	NoKeys bool
}

// loginForm is GET /console/login: a form of key and a hidden csrf_token,
// the token also in a cookie the POST must bring back.
func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	c.showLogin(w, r, http.StatusOK, loginData{Next: safeNext(r.URL.Query().Get("next")), Expired: r.URL.Query().Get("expired") != ""})
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, d loginData) {
	configured, err := c.cfg.Keys.Configured(r.Context())
	if err != nil {
		c.fail(w, r, nil, http.StatusInternalServerError, "The keys could not be read: "+err.Error())
		return
	}
	d.NoKeys = !configured
	csrf := token()
	setCookie(w, r, loginCookie, csrf, 3600)
	w.Header().Set("Cache-Control", "no-store")
	c.render(w, r, status, "login", &View{Title: "Sign in", CSRF: csrf, NoKeys: d.NoKeys, Data: d})
}

// login is POST /console/login {key, csrf_token, next}: a session for a
// key with the read scope.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		c.showLogin(w, r, http.StatusBadRequest, loginData{Error: "The form could not be read: " + err.Error()})
		return
	}
	next := safeNext(r.PostForm.Get("next"))
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostForm.Get("csrf_token"), ck.Value) {
		c.showLogin(w, r, http.StatusForbidden, loginData{Next: next, Error: "The form's CSRF token is missing or wrong (are cookies enabled?). Try again."})
		return
	}
	presented := strings.TrimSpace(r.PostForm.Get("key"))
	k, err := c.cfg.Keys.Check(r.Context(), presented)
	switch {
	case err != nil:
		c.fail(w, r, nil, http.StatusInternalServerError, "The keys could not be read: "+err.Error())
		return
	case presented == "" || k == nil:
		c.showLogin(w, r, http.StatusUnauthorized, loginData{Next: next, Error: "That is not a valid key."})
		return
	case !k.Allows(keys.ScopeRead):
		c.showLogin(w, r, http.StatusForbidden, loginData{Next: next, Error: fmt.Sprintf("The key %q lacks the scope %q the console needs (its scopes: %s).", k.Name, keys.ScopeRead, strings.Join(k.Scopes, ", "))})
		return
	}
	s := c.sessions.create(k, presented, false)
	setCookie(w, r, sessionCookie, s.id, 0)
	setCookie(w, r, loginCookie, "", -1)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// safeNext keeps a redirect inside the console: anything else goes to the
// overview.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}

// logout is POST /console/logout: the session ends.
func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *Session) {
	c.sessions.end(s.id)
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	s, ok := c.session(w, r)
	if !ok {
		return
	}
	c.fail(w, r, s, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
}
