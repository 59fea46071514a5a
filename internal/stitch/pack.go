package stitch

import (
	"strconv"
	"strings"
)

// Lists travel between Go and the database packed into one text value,
// split and unnested in SQL (string_to_array and string_agg, the same on
// both backends). Binding a Go slice costs DuckDB one allocation per
// element, about 0.8 µs; one string of a million elements is split in
// under 0.1 s.
//
// Text elements are framed so that any value survives: each element is
// prefixed with '~' (so that no element is empty: PostgreSQL splits an
// empty string into no elements, DuckDB into one) and the separator
// (0x1f) and the escape byte (0x1d) inside a value are written as 0x1d '?'
// and 0x1d '='. Numbers and entity ids need no escaping.
const (
	sepElem  = '\x1f' // between the elements of a list
	sepField = '\x1e' // between the fields of a packed row (read side)
	escape   = '\x1d'
)

// textList packs strings for textListSQL. (A strings.Builder, so that
// String does not copy lists of tens of megabytes.)
type textList struct {
	b strings.Builder
	n int
}

func (l *textList) add(s string) {
	if l.n > 0 {
		l.b.WriteByte(sepElem)
	}
	l.n++
	l.b.WriteByte('~')
	if !strings.ContainsAny(s, "\x1d\x1f") {
		l.b.WriteString(s)
		return
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case escape:
			l.b.WriteString("\x1d=")
		case sepElem:
			l.b.WriteString("\x1d?")
		default:
			l.b.WriteByte(s[i])
		}
	}
}

func (l *textList) String() string { return l.b.String() }

// unescape reverses the escaping of escapeSQL.
func unescape(s string) string {
	if strings.IndexByte(s, escape) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == escape && i+1 < len(s) {
			i++
			if s[i] == '?' {
				b.WriteByte(sepElem)
			} else {
				b.WriteByte(escape)
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// plainList packs elements that never contain the separator: numbers,
// entity ids, categories, JSON of counts.
type plainList struct {
	b   strings.Builder
	n   int
	num [20]byte
}

func (l *plainList) add(s string) {
	if l.n > 0 {
		l.b.WriteByte(sepElem)
	}
	l.n++
	l.b.WriteString(s)
}

func (l *plainList) addInt(v int64) {
	if l.n > 0 {
		l.b.WriteByte(sepElem)
	}
	l.n++
	l.b.Write(strconv.AppendInt(l.num[:0], v, 10))
}

func (l *plainList) String() string { return l.b.String() }

// packTexts packs n strings (at(i)) as a plainList when none is empty or
// holds a separator or the escape byte (identifier values almost never
// do: unpacking then costs DuckDB no substr and replaces per element),
// else as a textList, and returns the SQL that unnests parameter p.
func packTexts(n int, at func(int) string) (string, func(p string) string) {
	plain := true
	for i := range n {
		if v := at(i); v == "" || strings.ContainsAny(v, "\x1d\x1f") {
			plain = false
			break
		}
	}
	if plain {
		var l plainList
		for i := range n {
			l.add(at(i))
		}
		return l.String(), func(p string) string { return plainListSQL(p, "TEXT") }
	}
	var l textList
	for i := range n {
		l.add(at(i))
	}
	return l.String(), textListSQL
}

// textListSQL unnests the textList in parameter p, one row per element.
func textListSQL(p string) string {
	return "replace(replace(substr(unnest(string_to_array(" + p + ", chr(31))), 2), chr(29) || '?', chr(31)), chr(29) || '=', chr(29))"
}

// plainListSQL unnests the plainList in parameter p as typ.
func plainListSQL(p, typ string) string {
	return "CAST(unnest(string_to_array(" + p + ", chr(31))) AS " + typ + ")"
}

// escapeSQL is the SQL of a text expression (a column: it is written
// three times) escaped for a packed row. Values almost never hold the
// separator or the escape byte, and a search for them costs DuckDB far
// less than a replace, which copies every value: the ids and identifier
// values of a rebuild's pass of 250,000 events took 40 to 60 ms of CPU
// less each to pack.
func escapeSQL(expr string) string {
	return "CASE WHEN strpos(" + expr + ", chr(29)) + strpos(" + expr + ", chr(31)) = 0 THEN " + expr +
		" ELSE replace(replace(" + expr + ", chr(29), chr(29) || '='), chr(31), chr(29) || '?') END"
}
