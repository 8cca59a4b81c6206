package domain

import (
	"errors"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// phoneRegion is where a number written without its country code is taken
// to be: the journal's customers are Russian.
const phoneRegion = "RU"

// phoneChars is what a written phone number may contain. The library would
// also read letters (vanity numbers, "ext. 12", "tel:"), turning a typo into
// some other valid number; a phone typed into a widget has none of them.
const phoneChars = "0123456789 +()-."

var errInvalidPhone = errors.New("not a valid phone number")

// NormalizePhone returns a phone number as the digits of its E.164 form,
// country code first and without "+": "8 (916) 123-45-67" → "79161234567".
// Anything that is not a valid number of some country is an error.
func NormalizePhone(s string) (string, error) {
	if strings.ContainsFunc(s, func(r rune) bool { return !strings.ContainsRune(phoneChars, r) }) {
		return "", errInvalidPhone
	}
	if digits, ok := russianMobile(s); ok {
		return digits, nil
	}
	return normalizeByLibrary(s)
}

// normalizeByLibrary is NormalizePhone through libphonenumber, which knows
// every country's numbering plan and spends 11–19 µs a number in its
// regular expressions.
func normalizeByLibrary(s string) (string, error) {
	n, err := phonenumbers.Parse(s, phoneRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", errInvalidPhone
	}
	return strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+"), nil
}

// russianMobile reads the number a Russian widget collects most, a mobile
// one, without the library: written with phoneChars only, its digits are
// 9 and nine more, after "+7", "7" or "8" or alone, and a "+" may only
// lead. Every such number is valid (Russia's mobile range is 9 and nine
// digits), and the library reads each one alike: a test and a fuzz target
// hold the two to the same answer. Anything else goes to the library.
func russianMobile(s string) (string, bool) {
	var digits [11]byte
	n, plus := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			if n == len(digits) {
				return "", false
			}
			digits[n] = c
			n++
		case c == '+':
			if n > 0 || plus {
				return "", false
			}
			plus = true
		}
	}
	var national []byte
	switch {
	case n == 11 && (digits[0] == '7' || digits[0] == '8' && !plus):
		national = digits[1:]
	case n == 10 && !plus:
		national = digits[:10]
	default:
		return "", false
	}
	if national[0] != '9' {
		return "", false
	}
	return "7" + string(national), true
}
