package clip

import (
	"strconv"
	"unicode/utf8"
)

// ValueMax is how much of a value an error message quotes, in bytes.
const ValueMax = 200

// MessageMax bounds a whole error message, in bytes: several clipped
// values and the explanation around them fit.
const MessageMax = 2000

// String is s when it is at most ValueMax bytes long, else its first
// ValueMax bytes (cut at a character boundary), an ellipsis and the length
// of the whole.
func String(s string) string { return Max(s, ValueMax) }

// Quote is String quoted as Go quotes strings (strconv.Quote), the
// ellipsis and length outside the quotes.
func Quote(s string) string {
	if len(s) <= ValueMax {
		return strconv.Quote(s)
	}
	head := prefix(s, ValueMax)
	return strconv.Quote(head) + suffix(len(s))
}

// Max is s cut to at most n bytes (and a note of its length) when longer.
func Max(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return prefix(s, n) + suffix(len(s))
}

func prefix(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func suffix(total int) string { return "… (" + strconv.Itoa(total) + " bytes in all)" }
