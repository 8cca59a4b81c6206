package wire

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
)

// FuzzJSONScan holds the splitters to json.Unmarshal: for any valid JSON
// array they give the elements it gives, and for any valid object the
// members, the last of a repeated name winning; and nulString finds U+0000
// exactly when the decoded value holds one, in a name or a string.
func FuzzJSONScan(f *testing.F) {
	for _, s := range []string{
		`[]`, `{}`, ` [ 1 , "a" , null , true , {"x":[1,{"y":"]"}]} ] `, `{"a":1,"a":2}`,
		`{"k\"e\\y":"v\u00e9","":{},"n":-1.5e3}`, "{\"\xff\":\"\xfe\"}", `{"s":"\\","t":"\"}"}`,
		`[[[]],[{}],"\\\""]`, `{"a" : [ ] , "b" :{ } }`,
		`{"a":"\u0000"}`, `{"a\u0000":1}`, `["\\u0000"]`, `{"a":[1e999,"\\\u0000"]}`,
	} {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"a":"\`))
	f.Add([]byte(`[1,{"b":]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			// The log's records are split unchecked: whatever they hold,
			// the splitters stay inside them.
			validObject(b, "")
			return
		}
		if _, _, found := nulString(b); found != holdsNUL(decodeAny(t, b)) {
			t.Fatalf("%q: nulString found U+0000: %v; decoded, it holds one: %v", b, found, !found)
		}
		switch trimmed := bytes.TrimSpace(b); trimmed[0] {
		case '[':
			var want []json.RawMessage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			got, ok := validArray(b)
			if !ok {
				t.Fatalf("%q: not an array", b)
			}
			if len(got) != len(want) {
				t.Fatalf("%q: %d elements, want %d", b, len(got), len(want))
			}
			for i := range got {
				if !bytes.Equal(got[i], bytes.TrimSpace(want[i])) {
					t.Fatalf("%q: element %d is %q, want %q", b, i, got[i], want[i])
				}
			}
		case '{':
			var want map[string]json.RawMessage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			obj, ok := validObject(b, "")
			if !ok {
				t.Fatalf("%q: not an object", b)
			}
			names := map[string]bool{}
			for _, m := range obj.members {
				key := string(m.key)
				names[key] = true
				v, _ := obj.raw(key)
				if w := bytes.TrimSpace(want[key]); string(w) != "null" && !bytes.Equal(v, w) {
					t.Fatalf("%q: member %q is %q, want %q", b, key, v, w)
				}
			}
			if len(names) != len(want) {
				t.Fatalf("%q: %d names, want %d", b, len(names), len(want))
			}
		}
	})
}

// FuzzDecodeString holds decodeString to json.Unmarshal, for any one JSON
// string.
func FuzzDecodeString(f *testing.F) {
	for _, s := range []string{`""`, `"abc"`, `"\u00e9\n\"\\"`, "\"\xff\"", `"\ud800"`, `"日本"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want string
		if len(b) == 0 || b[0] != '"' || json.Unmarshal(b, &want) != nil || skipString(b, 0) != len(b) {
			return
		}
		if got, ok := decodeString(b); got != want || !ok {
			t.Fatalf("decodeString(%q) = %q, %v; want %q", b, got, ok, want)
		}
	})
}

// stringMap reads an object as json.Unmarshal reads it into a map of
// *string: repeated names, nulls and other values alike.
func TestStringMap_ReadsAsJSONUnmarshalIntoAMapOfStringPointers(t *testing.T) {
	for _, raw := range []string{
		`{}`, `{"a":"x","b":"y"}`, `{"k":"v","k":"w"}`, `{"k":null,"k":"v"}`, `{"k":"v","k":null}`,
		`{"":null}`, `{"a":null,"b":"x","a":null}`, `{"k":1,"k":"v"}`, `{"k":"v","n":[]}`, `{"k\u0000":"\u00e9"}`,
	} {
		var want map[string]*string
		wantErr := json.Unmarshal([]byte(raw), &want) != nil
		obj, _ := validObject([]byte(raw), "")
		got, nulls, ok := obj.stringMap()
		if ok == wantErr {
			t.Errorf("%s: ok %v, json.Unmarshal error %v", raw, ok, wantErr)
			continue
		}
		if !ok {
			continue
		}
		var wantNulls []string
		for _, m := range obj.members { // json.Unmarshal's nulls, in member order
			if key := string(m.key); want[key] == nil && !slices.Contains(wantNulls, key) {
				wantNulls = append(wantNulls, key)
			}
		}
		if !slices.Equal(nulls, wantNulls) || len(got) != len(want) {
			t.Errorf("%s: %q with nulls %q, want %d members with nulls %q", raw, got, nulls, len(want), wantNulls)
		}
		for k, v := range want {
			if v != nil && got[k] != *v {
				t.Errorf("%s: %q is %q, want %q", raw, k, got[k], *v)
			}
		}
	}
}
