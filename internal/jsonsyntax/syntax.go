package jsonsyntax

// NumberEnd returns the index just past the JSON number starting at i, or
// -(j+1) where j is the first byte that breaks the grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func NumberEnd(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = DigitsEnd(b, i)
	default:
		return -i - 1
	}
	if i < len(b) && b[i] == '.' {
		j := DigitsEnd(b, i+1)
		if j == i+1 {
			return -j - 1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := DigitsEnd(b, i)
		if j == i {
			return -j - 1
		}
		i = j
	}
	return i
}

// DigitsEnd returns the index just past the decimal digits starting at i.
func DigitsEnd(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// Hex4 reads the four hex digits of a \u escape at b[i:]; ok is false
// when there are not four (-1 is returned then, which no code point is).
func Hex4(b []byte, i int) (r rune, ok bool) {
	if i < 0 || i+4 > len(b) {
		return -1, false
	}
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return -1, false
		}
	}
	return r, true
}
