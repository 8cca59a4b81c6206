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
	n, err := phonenumbers.Parse(s, phoneRegion)
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", errInvalidPhone
	}
	return strings.TrimPrefix(phonenumbers.Format(n, phonenumbers.E164), "+"), nil
}
