package domain

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMaskToken_ShowsLastFourOnlyFromTwelveCharacters(t *testing.T) {
	tests := []struct{ token, want string }{
		{"", "****"},
		{"abcd", "****"},
		{"abcdefghijk", "****"},      // 11
		{"abcdefghijkl", "****ijkl"}, // 12
		{"0123456789abcdef0123456789abcdef", "****cdef"},
		{"токен-длинный", "****нный"}, // characters, not bytes
	}
	for _, tt := range tests {
		if got := MaskToken(tt.token); got != tt.want {
			t.Errorf("MaskToken(%q) = %q, want %q", tt.token, got, tt.want)
		}
	}
}

// oddToken has characters every encoder writes its own way.
const (
	oddToken = `tok/with+odd&chars<é>"q"\😀`
	oddMask  = `****q"\😀`
)

func TestMaskTokenIn_MasksEveryForm(t *testing.T) {
	const plain = "ct-token-7f3a9c21e4b85d60"
	tests := []struct {
		name, text, token, want string
	}{
		{"raw in a JSON answer", `{"error":"bad token ` + plain + `"}`, plain, `{"error":"bad token ****5d60"}`},
		{"every occurrence", plain + " and " + plain, plain, "****5d60 and ****5d60"},
		{"nothing to mask", `{"error":"bad site"}`, plain, `{"error":"bad site"}`},
		{"empty token masks nothing", "text", "", "text"},
		{"short token", `{"error":"bad token abc123"}`, "abc123", `{"error":"bad token ****"}`},
		{"a part of the token is not the token", plain[:20], plain, plain[:20]},
		{"json.Marshal", `{"error":` + jsonOf(t, "bad "+oddToken) + `}`, oddToken, `{"error":"bad ` + oddMask + `"}`},
		{"JSON with \\/ and \\u00xx escapes", `bad tok\/with+odd\u0026chars\u003c\u00e9\u003E\"q\"\\\ud83d\ude00!`, oddToken, "bad " + oddMask + "!"},
		{"JSON escaping every character", `x\u0074\u006F\u006b\u002f` + `with+odd&chars<é>"q"\😀`, oddToken, "x" + oddMask},
		{"url.QueryEscape", "token=" + url.QueryEscape(oddToken) + "&x=1", oddToken, "token=" + oddMask + "&x=1"},
		{"url.PathEscape", "/t/" + url.PathEscape(oddToken) + "/", oddToken, "/t/" + oddMask + "/"},
		{"lower-case percent escapes", "t=" + strings.ToLower(url.QueryEscape(oddToken)), oddToken, "t=" + oddMask},
		{"a partly encoded token", "a%2Fb/c%2fd", "a/b/c/d", "****"},
		{"forms mixed in one answer", plain + " " + url.QueryEscape(oddToken) + " " + jsonOf(t, oddToken), oddToken,
			plain + " " + oddMask + ` "` + oddMask + `"`},
		{"overlapping occurrences make one mask", strings.Repeat("x", 20), strings.Repeat("x", 12), "****xxxx"},
		{"a token glued to an incomplete escape reads as a decoder reads it", "%2" + url.QueryEscape("a/b"), "a/b", "%2a%2Fb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MaskTokenIn(tt.text, tt.token); got != tt.want {
				t.Errorf("MaskTokenIn(%q, %q)\n got %q\nwant %q", tt.text, tt.token, got, tt.want)
			}
		})
	}
}

func TestMaskTokenIn_TokenInsideItsOwnMaskEndsQuickly(t *testing.T) {
	if got := MaskTokenIn("a*b", "*"); got != "a****b" {
		t.Errorf("got %q, want a****b", got)
	}
}

func jsonOf(t testing.TB, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// tokenForms are the ways an answer may quote the token back.
func tokenForms(t testing.TB, token string) []string {
	quoted := jsonOf(t, token)
	return []string{
		token,
		quoted[1 : len(quoted)-1],
		strings.ReplaceAll(quoted[1:len(quoted)-1], "/", `\/`),
		url.QueryEscape(token),
		url.PathEscape(token),
	}
}

func FuzzMaskTokenIn(f *testing.F) {
	f.Add("bad token ", "ct-token-7f3a9c21e4b85d60", "!", uint8(0))
	f.Add(`{"error":"`, oddToken, `"}`, uint8(1))
	f.Add("x", "xxxxxxxxxxxx", "xxxxxxxxxxxxxxxx", uint8(2))
	f.Add("%2", "a/b", "%2F", uint8(3))
	f.Add(`\`, `\u`, "0041", uint8(4))
	f.Add("%2", "%0", "0", uint8(3))
	f.Fuzz(func(t *testing.T, before, token, after string, form uint8) {
		if token == "" || strings.ContainsAny(token, "* ") || !utf8.ValidString(token) {
			// A token with stars may come back out of its own mask; one
			// with spaces is refused (they cannot travel in a header), and
			// json.Marshal writes broken UTF-8 as U+FFFD, not the token.
			return
		}
		forms := tokenForms(t, token)
		// The spaces keep an escape in before or after from running into
		// the token's form: "%2" before "a%2Fb" would read as "%2a".
		text := before + " " + forms[int(form)%len(forms)] + " " + after
		got := MaskTokenIn(text, token)
		for _, f := range forms {
			if strings.Contains(got, f) {
				t.Fatalf("MaskTokenIn(%q, %q) = %q still holds %q", text, token, got, f)
			}
		}
		if again := MaskTokenIn(got, token); again != got {
			t.Fatalf("masking %q again gives %q", got, again)
		}
	})
}
