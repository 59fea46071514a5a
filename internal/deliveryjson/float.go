package deliveryjson

import (
	"math"
	"strconv"
)

// float reads a float of the given size in bits: a number, a numeric
// string, or one of protojson's "NaN", "Infinity" and "-Infinity".
func (d *decoder) float(bits int) (float64, error) {
	raw, token, err := d.numeric()
	if err != nil {
		return 0, err
	}
	if token[0] == '"' {
		switch string(raw) {
		case "NaN":
			return math.NaN(), nil
		case "Infinity":
			return math.Inf(1), nil
		case "-Infinity":
			return math.Inf(-1), nil
		}
		if !isNumber(raw) {
			return 0, notNumeric(token)
		}
	}
	return parseFloat(raw, token, bits)
}

// parseFloat converts a valid JSON number; out of range is an error, as in
// protojson.
func parseFloat(raw, token []byte, bits int) (float64, error) {
	if bits == 64 {
		if f, ok := fastFloat(raw); ok {
			return f, nil
		}
	}
	f, err := strconv.ParseFloat(string(raw), bits)
	if err != nil {
		return 0, &Error{Msg: describe(token) + " overflows float" + strconv.Itoa(bits)}
	}
	return f, nil
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// fastFloat converts short decimals such as prices without strconv's
// allocation: when the digits fit in 53 bits and the power of ten is exact,
// one multiplication or division rounds correctly (Clinger's fast path).
func fastFloat(raw []byte) (float64, bool) {
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	var mant uint64
	exp, digits := 0, 0
	i := 0
	for ; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
		mant = mant*10 + uint64(raw[i]-'0')
		digits++
	}
	if i < len(raw) && raw[i] == '.' {
		for i++; i < len(raw) && raw[i] >= '0' && raw[i] <= '9'; i++ {
			mant = mant*10 + uint64(raw[i]-'0')
			digits++
			exp--
		}
	}
	if i < len(raw) || digits > 19 || mant > 1<<53 || exp < -22 {
		return 0, false
	}
	f := float64(mant) / pow10[-exp]
	if neg {
		f = -f
	}
	return f, true
}
