package wire

import (
	"errors"
	"strings"
	"testing"

	"ctjournal/domain"
)

// batchOf is a JSON array of the given envelopes.
func batchOf(t testing.TB, envs ...map[string]any) []byte {
	t.Helper()
	parts := make([]string, len(envs))
	for i, env := range envs {
		parts[i] = string(encodeEnvelope(t, env))
	}
	return []byte("[" + strings.Join(parts, ",") + "]")
}

func TestParseBatch_AcceptsOneEnvelopeOrAnArray(t *testing.T) {
	one := encodeEnvelope(t, envelopeOf(domain.CallOrdered))
	tests := []struct {
		name  string
		body  []byte
		types []domain.EventType
	}{
		{"single object", one, []domain.EventType{domain.CallOrdered}},
		{"single object with spaces around", []byte(" \n" + string(one) + "\n"), []domain.EventType{domain.CallOrdered}},
		{"array of one", batchOf(t, envelopeOf(domain.CallOrdered)), []domain.EventType{domain.CallOrdered}},
		{"array in order", batchOf(t, envelopeOf(domain.CallOrdered), envelopeOf(domain.CallDialed), envelopeOf(domain.CallAnswered)),
			[]domain.EventType{domain.CallOrdered, domain.CallDialed, domain.CallAnswered}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ParseBatch(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != len(tt.types) {
				t.Fatalf("got %d events, want %d", len(events), len(tt.types))
			}
			for i, e := range events {
				if e.Type != tt.types[i] {
					t.Errorf("event %d is %s, want %s", i, e.Type, tt.types[i])
				}
			}
		})
	}
}

func TestParseBatch_AcceptsExactlyMaxBatch(t *testing.T) {
	envs := make([]map[string]any, MaxBatch)
	for i := range envs {
		envs[i] = envelopeOf(domain.CallDialed)
	}
	events, err := ParseBatch(batchOf(t, envs...))
	if err != nil || len(events) != MaxBatch {
		t.Fatalf("got %d events, %v", len(events), err)
	}
}

func TestParseBatch_RefusesBadBodiesAndNamesTheFirstBadEvent(t *testing.T) {
	tooMany := make([]map[string]any, MaxBatch+1)
	for i := range tooMany {
		tooMany[i] = envelopeOf(domain.CallDialed)
	}
	badAttempt := withMember(envelopeOf(domain.CallDialed), "data.attempt", 0)
	tests := []struct {
		name string
		body []byte
		want BatchError
	}{
		{"empty body", nil, BatchError{-1, "", "body is not valid JSON"}},
		{"not JSON", []byte(`{"event_id":`), BatchError{-1, "", "body is not valid JSON"}},
		{"two values", []byte(`{} {}`), BatchError{-1, "", "body is not valid JSON"}},
		{"a number", []byte(`42`), BatchError{-1, "", "body must be an event object or an array of them"}},
		{"a string", []byte(`"event"`), BatchError{-1, "", "body must be an event object or an array of them"}},
		{"null", []byte(`null`), BatchError{-1, "", "body must be an event object or an array of them"}},
		{"empty array", []byte(` [ ] `), BatchError{-1, "", "body is an empty array; send 1 to 1000 events"}},
		{"too many", batchOf(t, tooMany...), BatchError{-1, "", "body has 1001 events; at most 1000 are allowed"}},
		{"single bad object is index 0", encodeEnvelope(t, badAttempt),
			BatchError{0, "data.attempt", "must be an integer from 1 to 100"}},
		{"first bad event wins", batchOf(t, envelopeOf(domain.CallOrdered), badAttempt, withMember(envelopeOf(domain.CallDialed), "type", "x")),
			BatchError{1, "data.attempt", "must be an integer from 1 to 100"}},
		{"element not an object", []byte(`[` + string(encodeEnvelope(t, envelopeOf(domain.CallDialed))) + `, 7]`),
			BatchError{1, "", "event must be a JSON object"}},
		{"nested array", []byte(`[[]]`), BatchError{0, "", "event must be a JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := ParseBatch(tt.body)
			var be *BatchError
			if !errors.As(err, &be) {
				t.Fatalf("want a *BatchError, got %v", err)
			}
			if *be != tt.want {
				t.Errorf("got %+v, want %+v", *be, tt.want)
			}
			if events != nil {
				t.Errorf("got events with an error: %v", events)
			}
		})
	}
}

func TestBatchError_SaysWhereAndWhy(t *testing.T) {
	tests := []struct {
		err  BatchError
		want string
	}{
		{BatchError{-1, "", "body is not valid JSON"}, "body is not valid JSON"},
		{BatchError{0, "", "event must be a JSON object"}, "event 0: event must be a JSON object"},
		{BatchError{3, "data.attempt", "required"}, "event 3: data.attempt: required"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestParseBatch_NamesTheEventAndFieldHoldingU0000(t *testing.T) {
	// `"\"\\\u0000"`: a quote, a backslash, then U+0000.
	bad := strings.Replace(string(encodeEnvelope(t, withMember(envelopeOf(domain.CallOrdered), "data.form_name", "FORM"))),
		`"FORM"`, `"\"\\\u0000"`, 1)
	body := []byte(`[` + string(encodeEnvelope(t, envelopeOf(domain.CallOrdered))) + `,` + bad + `]`)
	_, err := ParseBatch(body)
	var be *BatchError
	if !errors.As(err, &be) || be.Index != 1 || be.Field != "data.form_name" || be.Message != "must not contain U+0000" {
		t.Fatalf("ParseBatch(%s) = %v, want event 1, data.form_name holding U+0000", body, err)
	}
}
