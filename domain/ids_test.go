package domain

import (
	"strings"
	"testing"
)

func FuzzValidateID(f *testing.F) {
	for _, s := range []string{"", "ord-1", "w~1", "Ёж", "a b", strings.Repeat("x", 128), strings.Repeat("x", 129), "\xff", "A.b_c:d-9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		want := id != "" && len(id) <= 128 && strings.Trim(id, refChars) == ""
		if got := ValidateID("order_id", id) == nil; got != want {
			t.Fatalf("ValidateID(%q) accepts: %v, want %v", id, got, want)
		}
	})
}
