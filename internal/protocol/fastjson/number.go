package fastjson

import (
	"math"
	"strconv"
)

// AppendDouble appends f formatted the way Java's Double.toString (and
// fastjson's RyuDouble) prints it: the shortest digits that round-trip, in
// plain decimal form with at least one fractional digit when
// 1e-3 <= |f| < 1e7 ("0.0", "12.5", "0.001"), otherwise in computerized
// scientific notation "d.dddE[-]n" ("1.2345678E7", "1.0E-4").
//
// NaN and infinities have no JSON form; fastjson writes null for them and so
// does AppendDouble.
func AppendDouble(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	// strconv's shortest form is "d.ddde±XX"; take its digits and exponent
	// and lay them out again with Java's rules.
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	digits, exp := splitSci(s)
	if exp < -3 || exp >= 7 {
		if len(digits) == 1 {
			// Java prints at least two significant digits in scientific
			// notation: 4.9E-324, not 5.0E-324. For normal doubles the
			// second digit is always 0; for a few subnormals fastjson's Ryu
			// rounds differently (1.0E-323 where this gives 9.9E-324).
			s = strconv.AppendFloat(tmp[:0], math.Abs(f), 'e', 1, 64)
			digits, exp = splitSci(s)
		}
	}
	if neg {
		dst = append(dst, '-')
	}
	switch {
	case exp < -3 || exp >= 7:
		dst = append(dst, digits[0], '.')
		if len(digits) == 1 {
			dst = append(dst, '0')
		} else {
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'E')
		dst = strconv.AppendInt(dst, int64(exp), 10)
	case exp < 0:
		dst = append(dst, '0', '.')
		for i := -1; i > exp; i-- {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	case exp+1 >= len(digits):
		dst = append(dst, digits...)
		for i := len(digits); i < exp+1; i++ {
			dst = append(dst, '0')
		}
		dst = append(dst, '.', '0')
	default:
		dst = append(dst, digits[:exp+1]...)
		dst = append(dst, '.')
		dst = append(dst, digits[exp+1:]...)
	}
	return dst
}

// splitSci splits strconv's "d.ddde±XX" into its significant digits and
// decimal exponent.
func splitSci(s []byte) (digits []byte, exp int) {
	e := len(s) - 1
	for e > 0 && s[e] != 'e' {
		e--
	}
	mant, ex := s[:e], s[e+1:]
	digits = make([]byte, 0, len(mant))
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	// Trailing zeros carry no information (only present with a fixed
	// precision) and Java does not print them.
	for len(digits) > 1 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	n, _ := strconv.Atoi(string(ex))
	return digits, n
}
