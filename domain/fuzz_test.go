package domain

import (
	"strings"
	"testing"
)

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"+7 916 123-45-67", "8 (916) 123-45-67", "9161234567", "79161234567", "+380 44 123 4567",
		"810 380 44 123 4567", "+1 650 253 0000", "", "123", "+", "+7 916 CALL-ME1", "++79161234567",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		digits, err := NormalizePhone(s)
		if err != nil {
			return
		}
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q) = %q: not digits", s, digits)
		}
		if again, err := NormalizePhone("+" + digits); again != digits || err != nil {
			t.Fatalf("NormalizePhone(%q) = %q, but NormalizePhone(%q) = %q, %v", s, digits, "+"+digits, again, err)
		}
		if fast, ok := russianMobile(s); ok {
			if byLibrary, err := normalizeByLibrary(s); byLibrary != fast || err != nil {
				t.Fatalf("russianMobile(%q) = %q; the library gives %q, %v", s, fast, byLibrary, err)
			}
		}
	})
}
