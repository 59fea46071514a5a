// Package clip shortens the values error messages echo. A client's
// offending value (a 100 KB source_id, a long path) is quoted only up to
// ValueMax bytes, with the length it had, so that an error answer stays
// small whatever was sent.
package clip
