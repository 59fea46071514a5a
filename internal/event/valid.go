package event

import (
	"bytes"

	"github.com/weftdata/weft/internal/jsonsyntax"
)

// maxNesting is how deep arrays and objects may nest: encoding/json's
// limit, so that ValidJSON and json.Valid agree.
const maxNesting = 10000

// ValidJSON reports whether data is exactly one JSON value with blanks
// around it: json.Valid's answer for every input (FuzzValidJSON holds it
// to that), in a third of its time. Each NDJSON line is checked before
// it is parsed, and encoding/json's scanner, a function call per byte,
// was the largest part of decoding a batch. Like json.Valid it does not
// check that strings are UTF-8: storableJSON refuses a payload that is
// not.
func ValidJSON(data []byte) bool {
	var open [32]byte // the containers around i, '{' or '['
	stack := open[:0]
	i := skipSpace(data, 0)
	for {
		// A value starts at i.
		if i >= len(data) {
			return false
		}
		switch c := data[i]; c {
		case '{', '[':
			if len(stack) >= maxNesting {
				return false
			}
			if i = skipSpace(data, i+1); i < len(data) && data[i] == c+2 { // '}' and ']'
				i++
				break
			}
			stack = append(stack, c)
			if c == '{' {
				i = validKey(data, i)
			}
			if i < 0 {
				return false
			}
			continue
		case '"':
			i = validString(data, i)
		case 't':
			i = validLiteral(data, i, "true")
		case 'f':
			i = validLiteral(data, i, "false")
		case 'n':
			i = validLiteral(data, i, "null")
		default:
			i = max(jsonsyntax.NumberEnd(data, i), -1)
		}
		if i < 0 {
			return false
		}
		// After a value: close the containers that end here, then find
		// the next element or member.
		for {
			i = skipSpace(data, i)
			if len(stack) == 0 {
				return i == len(data)
			}
			if i >= len(data) {
				return false
			}
			top := stack[len(stack)-1]
			if data[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if data[i] != ',' {
				return false
			}
			if i = skipSpace(data, i+1); top == '{' {
				if i = validKey(data, i); i < 0 {
					return false
				}
			}
			break
		}
	}
}

// validKey checks `"key" :` at i and returns where the member's value may
// start, or -1.
func validKey(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	if i = validString(data, i); i < 0 {
		return -1
	}
	if i = skipSpace(data, i); i >= len(data) || data[i] != ':' {
		return -1
	}
	return skipSpace(data, i+1)
}

// validString checks the string literal at i (data[i] is '"') and returns
// the index just past it, or -1.
func validString(data []byte, i int) int {
	for i++; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			i++
			if i >= len(data) {
				return -1
			}
			switch data[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if _, ok := jsonsyntax.Hex4(data, i+1); !ok {
					return -1
				}
				i += 4
			default:
				return -1
			}
		case c < 0x20:
			return -1
		}
	}
	return -1
}

func validLiteral(data []byte, i int, lit string) int {
	if !bytes.HasPrefix(data[i:], []byte(lit)) {
		return -1
	}
	return i + len(lit)
}
