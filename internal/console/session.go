package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"github.com/weftdata/weft/internal/keys"
)

// The cookies of the console. Both are HttpOnly and SameSite=Strict, and
// Secure when the console is served over TLS.
const (
	sessionCookie = "weft_console"
	// loginCookie holds the CSRF token of the sign-in form (a visitor has
	// no session yet): the form must post the same token back.
	loginCookie = "weft_console_login"
)

// maxSessions bounds the sessions kept: beyond it the oldest is ended.
const maxSessions = 10000

// Session is a signed-in visitor.
type Session struct {
	// Key is the key signed in with, as checked on this request; with no
	// key configured at all it is the open key, which may do everything.
	Key *keys.Key
	// CSRF is the token every form of the session carries.
	CSRF string
	// Open is true when no key is configured (the quickstart): anyone who
	// reaches the console may read and change everything.
	Open bool

	id        string
	presented string // the key as given, checked again on every request
	created   time.Time
	seen      time.Time
}

// Can reports whether the session's key grants the scope.
func (s *Session) Can(scope string) bool { return s.Key.Allows(scope) }

// openKey is the key of a session when no key is configured.
var openKey = &keys.Key{Name: keys.NameOpen, Scopes: []string{keys.ScopeAdmin}}

// sessions are kept in memory: a restart of weft serve signs everyone
// out, which is the safe side (documented in docs/console.md).
type sessions struct {
	mu        sync.Mutex
	byID      map[string]*Session
	now       func() time.Time
	idle, max time.Duration
}

func newSessions(now func() time.Time, idle, max time.Duration) *sessions {
	return &sessions{byID: map[string]*Session{}, now: now, idle: idle, max: max}
}

// create starts a session for a key.
func (ss *sessions) create(k *keys.Key, presented string, open bool) *Session {
	now := ss.now()
	s := &Session{Key: k, CSRF: token(), Open: open, id: token(), presented: presented, created: now, seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= maxSessions {
		ss.evictLocked(now)
	}
	ss.byID[s.id] = s
	return s
}

// evictLocked ends the expired sessions and, if none was, the oldest.
func (ss *sessions) evictLocked(now time.Time) {
	var oldest *Session
	for id, s := range ss.byID {
		if ss.expired(s, now) {
			delete(ss.byID, id)
			oldest = nil
			continue
		}
		if oldest == nil || s.created.Before(oldest.created) {
			oldest = s
		}
	}
	if len(ss.byID) >= maxSessions && oldest != nil {
		delete(ss.byID, oldest.id)
	}
}

func (ss *sessions) expired(s *Session, now time.Time) bool {
	return now.Sub(s.seen) > ss.idle || now.Sub(s.created) > ss.max
}

// get returns a copy of the live session of id and marks it used; expired is true
// when the session existed but ran out (and is now ended).
func (ss *sessions) get(id string) (s *Session, expired bool) {
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s = ss.byID[id]
	if s == nil {
		return nil, false
	}
	if ss.expired(s, now) {
		delete(ss.byID, id)
		return nil, true
	}
	s.seen = now
	// A copy: the caller sets Key to the key as checked now, while other
	// requests of the session read theirs.
	cp := *s
	return &cp, false
}

func (ss *sessions) end(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.byID, id)
}

// token returns 32 random bytes, URL-safe.
func token() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("console: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// sameToken compares tokens in constant time; an empty one never matches.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// setCookie sets one of the console's cookies; maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     Prefix,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
}
