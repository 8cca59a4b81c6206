package domain

import "strings"

// refChars may make up an order or widget id; "~" is missing on purpose: it
// separates the attempt in a lead key.
const refChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"

// ValidateID checks an order or widget id (docs/api.md): 1–128 characters of
// A–Z a–z 0–9 . _ : - ; never "~", which separates the attempt in a lead key.
func ValidateID(field, id string) error {
	if id == "" || len(id) > 128 || strings.Trim(id, refChars) != "" {
		return fieldErr(field, "must be 1–128 characters of A–Z a–z 0–9 . _ : -")
	}
	return nil
}
