package domain

// refChars may make up an order or widget id; "~" is missing on purpose: it
// separates the attempt in a lead key.
const refChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"

// isRefChar is refChars as a table: every event checks two ids, and
// strings.Trim would build its set of characters again at each call.
var isRefChar = func() (set [256]bool) {
	for i := range len(refChars) {
		set[refChars[i]] = true
	}
	return set
}()

// ValidateID checks an order or widget id (docs/api.md): 1–128 characters of
// A–Z a–z 0–9 . _ : - ; never "~", which separates the attempt in a lead key.
func ValidateID(field, id string) error {
	if id == "" || len(id) > 128 || !allRefChars(id) {
		return fieldErr(field, "must be 1–128 characters of A–Z a–z 0–9 . _ : -")
	}
	return nil
}

func allRefChars(id string) bool {
	for i := range len(id) {
		if !isRefChar[id[i]] {
			return false
		}
	}
	return true
}
