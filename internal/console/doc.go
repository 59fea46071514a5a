// Package console is Weft's web console, served at /console/ by weft
// serve itself: server-rendered pages (html/template) over the same store
// and services the API uses, with charts and the identity graph drawn as
// SVG on the server and a little progressive JavaScript. Every asset is
// embedded; no request leaves the machine (the Content-Security-Policy
// allows 'self' only).
//
// A visitor signs in with an API key (read scope to look, admin or jobs
// for the actions that change things) and gets a session cookie; every
// form carries a CSRF token. Each page and action is a route of the
// console's own table with the scope it needs, as the API's are.
package console
