package wire

import (
	"encoding/json"
	"strings"
	"testing"
)

func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{
		``, ` `, `{}`, `[]`, ` [ 1 , "a" , null , true , false, {"x":[1,{"y":"]"}]} ] `, `{"a":1,"a":2}`,
		`{"k\"e\\y":"v\u00e9","":{},"n":-1.5e3}`, "{\"\xff\":\"\xfe\"}", `"\/\b\f\n\r\t"`, `"\u00"`, `"\x"`,
		"\"\x1f\"", "\"\x7f\"", `0`, `-0`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `1E-7`, `2.5e+10`, `1 2`, `tru`, `truex`, `nul`,
		`[1,]`, `{"a":}`, `{"a" 1}`, `{,}`, `[,1]`, `{"a":1,}`, `{1:2}`, `[}`, `{]`, `"abc`, "\"\\", `[[[]]]]`, "\t\r\n{}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

func TestValidJSON_KeepsEncodingJSONsNestingLimit(t *testing.T) {
	for _, depth := range []int{maxJSONDepth - 1, maxJSONDepth, maxJSONDepth + 1} {
		for _, pair := range [][2]string{{"[", "]"}, {`{"a":`, "}"}} {
			b := []byte(strings.Repeat(pair[0], depth) + "1" + strings.Repeat(pair[1], depth))
			if got, want := validJSON(b), json.Valid(b); got != want {
				t.Errorf("depth %d of %s: validJSON %v, json.Valid %v", depth, pair[0], got, want)
			}
		}
	}
}
