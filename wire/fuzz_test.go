package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"ctjournal/domain"
)

func FuzzParseBatch(f *testing.F) {
	for _, typ := range []domain.EventType{domain.CallOrdered, domain.CallDialed, domain.CallAnswered, domain.CallFailed, domain.CallLastAttempt} {
		f.Add(encodeEnvelope(f, envelopeOf(typ)))
	}
	f.Add(encodeEnvelope(f, withMember(withMember(withMember(withMember(withMember(envelopeOf(domain.CallOrdered),
		"data.kind", "tap2call"), "data.manager_phone", "+380 44 123 4567"),
		"data.scheduled_at", "2026-11-25T10:00:00.5+03:00"), "data.details", map[string]string{"a": "<&>", "б": ""}),
		"data.calltouch_session_id", "s-1")))
	f.Add(encodeEnvelope(f, withMember(withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", 0), "data.attempt", 100)))
	f.Add(encodeEnvelope(f, withMember(envelopeOf(domain.CallFailed), "data.reason", "busy")))
	f.Add(batchOf(f, envelopeOf(domain.CallOrdered), envelopeOf(domain.CallDialed), withMember(envelopeOf(domain.CallDialed), "data.attempt", 1.5)))
	f.Add(encodeEnvelope(f, withMember(envelopeOf(domain.CallDialed), "occurred_at", "0001-01-01T00:00:00+01:00")))
	f.Add(encodeEnvelope(f, withMember(envelopeOf(domain.CallOrdered), "data.scheduled_at", "2099-12-31T23:59:59-00:01")))
	f.Add(encodeEnvelope(f, withMember(envelopeOf(domain.CallOrdered), "data.details", map[string]string{"k\x00": "v", "w": "\x00"})))
	f.Add(encodeEnvelope(f, withMember(envelopeOf(domain.CallFailed), "data.reason", `\u0000`)))
	f.Add(encodeEnvelope(f, withMember(envelopeOf(domain.CallAnswered), "data.talk_seconds", 86400)))
	for _, s := range []string{``, `[]`, `null`, `[null]`, `{}`, `"x"`, `[{"event_id":1}]`, `{"data":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := ParseBatch(body)
		if err != nil {
			var be *BatchError
			if !errors.As(err, &be) || be.Index < -1 || be.Index >= MaxBatch || be.Message == "" {
				t.Fatalf("ParseBatch error %#v", err)
			}
			return
		}
		for _, e := range events {
			stored, err := MarshalEvent(e)
			if err != nil {
				t.Fatalf("MarshalEvent(%+v): %v", e, err)
			}
			checkMatchesReference(t, e)
			// What is accepted, any store holds.
			if holdsNUL(decodeAny(t, stored)) {
				t.Fatalf("accepted %s holds U+0000", stored)
			}
			times := []time.Time{e.OccurredAt}
			if e.Order.Deferred() {
				times = append(times, *e.Order.ScheduledAt)
			}
			for _, at := range times {
				if at.Before(earliestTime) || !at.Before(latestTime) {
					t.Fatalf("accepted %s has a time out of range: %v", stored, at)
				}
			}
			if e.Attempt < 0 || e.Attempt > domain.MaxAttempt || (e.TalkSeconds != nil && (*e.TalkSeconds < 0 || *e.TalkSeconds > domain.MaxTalkSeconds)) {
				t.Fatalf("accepted %s has a number out of range", stored)
			}
			back, err := UnmarshalEvent(stored)
			if err != nil {
				t.Fatalf("UnmarshalEvent(%s): %v", stored, err)
			}
			if !reflect.DeepEqual(back, e) {
				t.Fatalf("round trip of %s\ngot  %+v\nwant %+v", stored, back, e)
			}
			// As PostgreSQL prints it back from JSONB: spaced out.
			var spaced bytes.Buffer
			if err := json.Indent(&spaced, stored, "", " "); err != nil {
				t.Fatal(err)
			}
			if back, err := UnmarshalEvent(spaced.Bytes()); err != nil || !reflect.DeepEqual(back, e) {
				t.Fatalf("round trip of %s\ngot  %+v, %v\nwant %+v", spaced.Bytes(), back, err, e)
			}
			if again, _ := MarshalEvent(back); !bytes.Equal(again, stored) {
				t.Fatalf("canonical form not stable:\n%s\n%s", stored, again)
			}
		}
	})
}

func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{
		`{` + policyAccess + `}`,
		`{"enabled":false,` + policyAccess + `,"hook":"before_call","send_form_name":true,"tap2call":true}`,
		`{"site_id":"1","server":"http://127.0.0.1:9000/","token":"t","hook":"before_call","only_successful":true}`,
		`{"site_id":"1","server":"https://user@h","token":"****abcd"}`,
		`{"site_id":"1","server":"a..b","token":"t","extra":null}`,
		`{"site_id":"1\u0000","server":"h","token":"t"}`, `{"site_id":"\\u0000","server":"h","token":"t"}`,
		``, `null`, `[]`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := ParsePolicy(raw)
		if err != nil {
			var fe *domain.FieldError
			if !errors.As(err, &fe) || fe.Message == "" {
				t.Fatalf("ParsePolicy error %#v", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted %+v fails Validate: %v", p, err)
		}
		for _, s := range []string{p.SiteID, p.Server, p.Token, string(p.Hook)} {
			if strings.IndexByte(s, 0) >= 0 {
				t.Fatalf("accepted %+v holds U+0000", p)
			}
		}
		if base := strings.ToLower(p.BaseURL()); !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
			t.Fatalf("BaseURL of %q = %q", p.Server, base)
		}
		if !strings.HasPrefix(domain.MaskToken(p.Token), "****") {
			t.Fatalf("MaskToken(%q) = %q", p.Token, domain.MaskToken(p.Token))
		}
		// The stored policy, written back as JSON, reads as itself.
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := ParsePolicy(b); err != nil || again != p {
			t.Fatalf("policy %s reads back as %+v, %v; want %+v", b, again, err, p)
		}
	})
}

// FuzzUnmarshalEvent feeds the log reader what a damaged record could hold:
// it returns an event or an error, and an event it returns writes back.
func FuzzUnmarshalEvent(f *testing.F) {
	for _, typ := range []domain.EventType{domain.CallOrdered, domain.CallAnswered, domain.CallFailed} {
		e, err := ParseEvent(encodeEnvelope(f, envelopeOf(typ)))
		if err != nil {
			f.Fatal(err)
		}
		stored, err := MarshalEvent(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(stored)
		f.Add(stored[:len(stored)/2])
	}
	for _, s := range []string{``, `{`, `{"a":"\\`, `{"data":{"details":{"k":"v"`, `{"a":}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalEvent(b)
		if err != nil {
			return
		}
		if _, err := MarshalEvent(e); err != nil {
			t.Fatalf("UnmarshalEvent(%q) = %+v, which does not write back: %v", b, e, err)
		}
		checkMatchesReference(t, e)
	})
}

// FuzzDetailsGrowth holds parseDetails to its shortcut: details written
// back are at most three times as long as sent.
func FuzzDetailsGrowth(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b","a":null}`, "{\"\xff\xfe\":\"\xff\"}", `{"\u2028":"\ud800"}`, "{\"\u2028\":\"\u2029\"}", `{"k":"\/\u0001"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		obj, ok := parseObject(b, "")
		if !ok {
			return
		}
		details, _, ok := obj.stringMap()
		if !ok || len(details) == 0 {
			return
		}
		if out := appendDetails(nil, details); len(out) > 3*len(b) {
			t.Fatalf("%q is written back as %q, more than three times as long", b, out)
		}
	})
}
