package wire

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestNulString_FindsTheFirstStringHoldingU0000(t *testing.T) {
	tests := []struct {
		raw    string
		path   string
		inName bool
		found  bool
	}{
		{`{"a":"x"}`, "", false, false},
		{`{"a":"\\u0000"}`, "", false, false},
		{`{"a":"\\\\u0000"}`, "", false, false},
		{`{"\\u0000":"\\u0000"}`, "", false, false},
		{`{"a":"x\u0000"}`, "a", false, true},
		{`{"a":"\\\u0000"}`, "a", false, true},
		{`{"a":"\ud800\u0000"}`, "a", false, true},
		{`{"a\u0000":"x"}`, "", true, true},
		{`{"a":1,"b":{"c":[true,null,1e999,{"d":"\u0000"}]}}`, "b.c[3].d", false, true},
		{`{"b":{"c\u0000":1},"a":"\u0000"}`, "b", true, true},
		{`{"a":["x","\u0000"],"b":"\u0000"}`, "a[1]", false, true},
		{`{"a":{},"b":[],"c":[[],["\u0000"]]}`, "c[1][0]", false, true},
		{`["\u0000"]`, "[0]", false, true},
		{`"\u0000"`, "", false, true},
		{` { "a" : { "b" : "\u0000" } } `, "a.b", false, true},
	}
	for _, tt := range tests {
		path, inName, found := nulString([]byte(tt.raw))
		if path != tt.path || inName != tt.inName || found != tt.found {
			t.Errorf("nulString(%s) = %q, %v, %v; want %q, %v, %v", tt.raw, path, inName, found, tt.path, tt.inName, tt.found)
		}
	}
}

// Nesting as deep as JSON allows, around a megabyte, is walked once.
func TestNulString_IsLinearInDepth(t *testing.T) {
	const depth = 4900 // two levels each, under encoding/json's limit of 10000
	raw := strings.Repeat(`{"a":[`, depth) + `"` + strings.Repeat("x", 1<<20) + `\u0000"` + strings.Repeat(`]}`, depth)
	if !json.Valid([]byte(raw)) {
		t.Fatal("the test input is not valid JSON")
	}
	path, _, found := nulString([]byte(raw))
	if !found || !strings.HasSuffix(path, "a[0]") || strings.Count(path, ".") != depth-1 {
		t.Errorf("found %v at a path of %d bytes", found, len(path))
	}
}

// holdsNUL is nulString's found, the slow way: decoded whole.
func holdsNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		for _, e := range v {
			if holdsNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range v {
			if strings.IndexByte(k, 0) >= 0 || holdsNUL(e) {
				return true
			}
		}
	}
	return false
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
