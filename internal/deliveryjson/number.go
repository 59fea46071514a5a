package deliveryjson

import (
	"math"
	"strconv"

	"github.com/weftdata/weft/internal/jsonsyntax"
)

// number reads a JSON number and returns its text.
func (d *decoder) number() ([]byte, error) {
	end := jsonsyntax.NumberEnd(d.data, d.pos)
	if end < 0 {
		d.pos = -end - 1
		return nil, d.syntaxError()
	}
	raw := d.data[d.pos:end]
	d.pos = end
	return raw, nil
}

// numeric reads a number or a string holding exactly one JSON number, as
// protojson accepts for every numeric field. raw is the number's text and
// token the value as written, for messages.
func (d *decoder) numeric() (raw, token []byte, err error) {
	start := d.pos
	switch c := d.peek(); {
	case c == '"':
		s, err := d.stringBytes()
		if err != nil {
			return nil, nil, err
		}
		return s, d.data[start:d.pos], nil
	case c == '-' || ('0' <= c && c <= '9'):
		raw, err := d.number()
		return raw, raw, err
	}
	return nil, nil, d.wrongType("a number or a numeric string")
}

// isNumber reports whether s is exactly one JSON number.
func isNumber(s []byte) bool {
	return len(s) > 0 && jsonsyntax.NumberEnd(s, 0) == len(s)
}

func notNumeric(token []byte) error {
	return &Error{Msg: "want a number or a numeric string, got " + describe(token)}
}

// integerValue reads a number or a numeric string as an integer: its
// magnitude and sign, how it reads (whole, a fraction, too large) and the
// token as written, for messages.
func (d *decoder) integerValue() (mag uint64, neg bool, res intResult, token []byte, err error) {
	raw, token, err := d.numeric()
	if err != nil {
		return 0, false, intOK, nil, err
	}
	if !isNumber(raw) {
		return 0, false, intOK, nil, notNumeric(token)
	}
	mag, neg, res = integer(raw)
	return mag, neg, res, token, nil
}

// uint reads an unsigned integer of the given size in bits.
func (d *decoder) uint(bits int) (uint64, error) {
	mag, neg, res, token, err := d.integerValue()
	if err != nil {
		return 0, err
	}
	if res == intOK && neg && mag != 0 || res == intOK && bits < 64 && mag>>bits != 0 {
		res = intOverflow
	}
	return mag, intError(res, token, "uint", bits)
}

// int reads a signed integer of the given size in bits.
func (d *decoder) int(bits int) (int64, error) {
	mag, neg, res, token, err := d.integerValue()
	if err != nil {
		return 0, err
	}
	limit := uint64(1) << (bits - 1)
	if res == intOK && (!neg && mag >= limit || neg && mag > limit) {
		res = intOverflow
	}
	if neg {
		return -int64(mag), intError(res, token, "int", bits)
	}
	return int64(mag), intError(res, token, "int", bits)
}

func intError(res intResult, token []byte, kind string, bits int) error {
	switch res {
	case intFraction:
		return &Error{Msg: describe(token) + " is not an integer"}
	case intOverflow:
		return &Error{Msg: describe(token) + " overflows " + kind + strconv.Itoa(bits)}
	}
	return nil
}

type intResult int

const (
	intOK intResult = iota
	intFraction
	intOverflow
)

// integer converts a valid JSON number to an integer magnitude and sign,
// accepting any spelling of an integer (3.0, 1e2, 100e-2) and refusing
// more than 20 digits before scaling, as protojson does.
func integer(raw []byte) (uint64, bool, intResult) {
	neg := raw[0] == '-'
	if neg {
		raw = raw[1:]
	}
	i := jsonsyntax.DigitsEnd(raw, 0)
	intp := raw[:i]
	if len(intp) == 1 && intp[0] == '0' {
		intp = nil
	}
	var frac []byte
	if i < len(raw) && raw[i] == '.' {
		j := jsonsyntax.DigitsEnd(raw, i+1)
		frac = trimZeros(raw[i+1 : j])
		i = j
	}
	if len(intp) == 0 && len(frac) == 0 {
		return 0, neg, intOK
	}
	exp := 0
	if i < len(raw) {
		e, err := strconv.ParseInt(string(raw[i+1:]), 10, 32)
		if err != nil {
			return 0, neg, intFraction
		}
		exp = int(e)
	}
	mag, res := scale(intp, frac, exp)
	return mag, neg, res
}

// scale computes the integer intp.frac × 10^exp.
func scale(intp, frac []byte, exp int) (uint64, intResult) {
	if exp < 0 {
		cut := len(intp) + exp
		if len(frac) > 0 || cut < 0 || len(trimZeros(intp[cut:])) != 0 {
			return 0, intFraction
		}
		return accumulate(0, intp[:cut])
	}
	if len(frac) > exp {
		return 0, intFraction
	}
	if len(intp)+exp > 20 {
		return 0, intOverflow
	}
	mag, res := accumulate(0, intp)
	if res == intOK {
		mag, res = accumulate(mag, frac)
	}
	for range exp - len(frac) {
		if res != intOK || mag > math.MaxUint64/10 {
			return 0, intOverflow
		}
		mag *= 10
	}
	return mag, res
}

func accumulate(mag uint64, digits []byte) (uint64, intResult) {
	for _, c := range digits {
		d := uint64(c - '0')
		if mag > (math.MaxUint64-d)/10 {
			return 0, intOverflow
		}
		mag = mag*10 + d
	}
	return mag, intOK
}

func trimZeros(b []byte) []byte {
	for len(b) > 0 && b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	return b
}
