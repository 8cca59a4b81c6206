package domain

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestNormalizePhone_GivesCountryCodeAndDigits(t *testing.T) {
	tests := []struct{ in, want string }{
		// docs/rules.md's examples.
		{"+7 916 123-45-67", "79161234567"},
		{"8 (916) 123-45-67", "79161234567"},
		{"9161234567", "79161234567"},
		{"79161234567", "79161234567"},
		{"+380 44 123 4567", "380441234567"},
		// Other common spellings.
		{"+79161234567", "79161234567"},
		{"89161234567", "79161234567"},
		{"+7 (916) 123.45.67", "79161234567"},
		{"  +7 916 123 45 67  ", "79161234567"},
		{"8 800 555-35-35", "78005553535"},
		{"+7 (495) 123-45-67", "74951234567"},
		{"810 380 44 123 4567", "380441234567"}, // Russian international dialling prefix
		{"+1 650 253 0000", "16502530000"},
		{"+44 20 7946 0958", "442079460958"},
	}
	for _, tt := range tests {
		got, err := NormalizePhone(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestNormalizePhone_RefusesWhatIsNotAValidNumber(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"123",
		"+7 916 123-45-6",          // one digit short
		"+7 916 123-45-678",        // one digit long
		"+7 000 123-45-67",         // no such Russian range
		"380441234567",             // foreign digits without "+" read as Russian
		"+999 123 456",             // no such country code
		"+7 916 CALL-ME1",          // letters: the library would read them as digits
		"+7 916 123-45-67 доб. 12", // extension
		"+7 916 123-45-67 ext 12",
		"tel:+7-916-123-45-67",
		"phone: +79161234567",
		"+7\n916 123 45 67",
		"７９１６１２３４５６７", // full-width digits
	} {
		if got, err := NormalizePhone(in); err == nil {
			t.Errorf("NormalizePhone(%q) = %q, want an error", in, got)
		}
	}
}

// The fast path for Russian mobile numbers answers as the library does,
// for every way of writing one with phoneChars and for near misses.
func TestNormalizePhone_RussianMobilesReadAsTheLibraryReadsThem(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	prefixes := []string{"+7", "7", "8", "", "+8", "+", "87", "+79", "9"}
	punctuation := []string{"", " ", "(", ")", "-", ".", "  ", ") ", " (", "+"}
	fast := 0
	for range 20000 {
		national := "9"
		if rng.IntN(5) == 0 {
			national = string(rune('0' + rng.IntN(10)))
		}
		for range 8 + rng.IntN(3) { // 9–11 digits: near misses too
			national += string(rune('0' + rng.IntN(10)))
		}
		var b strings.Builder
		b.WriteString(punctuation[rng.IntN(len(punctuation))])
		b.WriteString(prefixes[rng.IntN(len(prefixes))])
		for _, c := range national {
			if rng.IntN(3) == 0 {
				b.WriteString(punctuation[rng.IntN(len(punctuation))])
			}
			b.WriteRune(c)
		}
		b.WriteString(punctuation[rng.IntN(len(punctuation))])
		in := b.String()
		got, ok := russianMobile(in)
		if !ok {
			continue
		}
		fast++
		if want, err := normalizeByLibrary(in); err != nil || got != want {
			t.Fatalf("russianMobile(%q) = %q; the library gives %q, %v", in, got, want, err)
		}
	}
	if fast < 2000 {
		t.Fatalf("only %d of the inputs took the fast path", fast)
	}
}
