package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func detailsPolicy(opts ...func(*Policy)) Policy {
	return *placement(1, append([]func(*Policy){commentDetails}, opts...)...).Policy
}

func TestComment_IsCallKeeperWithoutDetails(t *testing.T) {
	out := buildPayload(*placement(1).Policy, "ord-1~1", ordered(deferred), outcomeRef(answered(1)))
	if out.Comment != "CallKeeper" {
		t.Errorf("comment = %q", out.Comment)
	}
}

func TestComment_DetailsLinesInOrder(t *testing.T) {
	o := ordered(deferred, func(o *OrderData) { o.Details = map[string]string{"utm_source": "yandex", "page": "/contacts"} })
	out := buildPayload(detailsPolicy(), "ord-1~2", o, outcomeRef(answered(2)))
	want := "CallKeeper\n" +
		"Тип: обратный звонок\n" +
		"Отложен на: 25.11.2026 10:00\n" +
		"Попытка: 2\n" +
		"Результат: состоялся\n" +
		"Разговор: 42 с\n" +
		"page: /contacts\n" +
		"utm_source: yandex"
	if out.Comment != want {
		t.Errorf("comment\n got %q\nwant %q", out.Comment, want)
	}
}

func TestComment_FailedAttemptWithAndWithoutReason(t *testing.T) {
	withReason := buildPayload(detailsPolicy(), "k", ordered(tap2call), outcomeRef(failed(1)))
	if want := "CallKeeper\nТип: tap-to-call\nПопытка: 1\nРезультат: не состоялся (no_answer)"; withReason.Comment != want {
		t.Errorf("comment\n got %q\nwant %q", withReason.Comment, want)
	}
	bare := failed(1)
	bare.FailReason = ""
	without := buildPayload(detailsPolicy(), "k", ordered(), &bare)
	if want := "CallKeeper\nТип: обратный звонок\nПопытка: 1\nРезультат: не состоялся"; without.Comment != want {
		t.Errorf("comment\n got %q\nwant %q", without.Comment, want)
	}
}

func TestComment_LeavesOutLinesWithNothingToSay(t *testing.T) {
	silent := answered(1)
	silent.TalkSeconds = nil
	o := ordered(func(o *OrderData) {
		o.Details = map[string]string{"empty": "", "note": "перезвонить\r\nпосле обеда"}
	})
	out := buildPayload(detailsPolicy(), "k", o, &silent)
	want := "CallKeeper\nТип: обратный звонок\nПопытка: 1\nРезультат: состоялся\nnote: перезвонить после обеда"
	if out.Comment != want {
		t.Errorf("comment\n got %q\nwant %q", out.Comment, want)
	}
}

func TestComment_CutTo4000CodePointsWithEllipsis(t *testing.T) {
	long := strings.Repeat("я", 5000)
	o := ordered(func(o *OrderData) { o.Details = map[string]string{"text": long} })
	out := buildPayload(detailsPolicy(), "k", o, nil)
	if n := utf8.RuneCountInString(out.Comment); n != 4000 {
		t.Errorf("comment has %d code points, want 4000", n)
	}
	head := "CallKeeper\nТип: обратный звонок\ntext: "
	body := strings.Repeat("я", 3999-utf8.RuneCountInString(head))
	if out.Comment != head+body+"…" {
		t.Errorf("comment cut wrongly: ends %q", out.Comment[len(out.Comment)-20:])
	}
}

func TestComment_Of4000CodePointsIsKeptWhole(t *testing.T) {
	head := "CallKeeper\nТип: обратный звонок\ntext: "
	value := strings.Repeat("я", 4000-utf8.RuneCountInString(head))
	o := ordered(func(o *OrderData) { o.Details = map[string]string{"text": value} })
	if out := buildPayload(detailsPolicy(), "k", o, nil); out.Comment != head+value {
		t.Errorf("a comment of exactly 4000 code points was changed")
	}
}

func TestSubject_IsTheFormNameCutTo256CodePoints(t *testing.T) {
	name := strings.Repeat("ф", 300)
	o := ordered(func(o *OrderData) { o.FormName = name })
	out := buildPayload(*placement(1, func(p *Policy) { p.SendFormName = true }).Policy, "k", o, nil)
	if out.Subject != strings.Repeat("ф", 256) {
		t.Errorf("subject has %d code points, want 256 with no ellipsis", utf8.RuneCountInString(out.Subject))
	}
}

func TestSubject_OnlyWithSendFormNameAndAFormName(t *testing.T) {
	if out := buildPayload(*placement(1).Policy, "k", ordered(), nil); out.Subject != "" {
		t.Errorf("subject %q sent without send_form_name", out.Subject)
	}
	unnamed := ordered(func(o *OrderData) { o.FormName = "" })
	if out := buildPayload(*placement(1, func(p *Policy) { p.SendFormName = true }).Policy, "k", unnamed, nil); strings.Contains(out.Form(), "subject") {
		t.Errorf("subject sent without a form name: %s", out.Form())
	}
}

func TestRequestDate_IsTheOrderTimeInMoscow(t *testing.T) {
	send := *placement(1, func(p *Policy) { p.SendOrderDate = true }).Policy
	if out := buildPayload(send, "k", ordered(), nil); out.RequestDate != "24-11-2026 10:15:00" {
		t.Errorf("requestDate = %q", out.RequestDate)
	}
	late := ordered()
	late.OccurredAt = time.Date(2026, 12, 31, 22, 30, 5, 0, time.UTC)
	if out := buildPayload(send, "k", late, nil); out.RequestDate != "01-01-2027 01:30:05" {
		t.Errorf("requestDate across midnight = %q", out.RequestDate)
	}
	if out := buildPayload(*placement(1).Policy, "k", ordered(), nil); out.RequestDate != "" {
		t.Errorf("requestDate %q sent without send_order_date", out.RequestDate)
	}
}

func TestPayload_FormKeepsCalltouchFieldOrderAndEncoding(t *testing.T) {
	all := *placement(1, commentDetails, func(p *Policy) { p.SendFormName, p.SendOrderDate = true, true }).Policy
	out := buildPayload(all, "ord-1~2", ordered(), outcomeRef(answered(2)))
	want := "phoneNumber=79161234567&requestNumber=ord-1~2" +
		"&comment=CallKeeper%0A%D0%A2%D0%B8%D0%BF%3A+%D0%BE%D0%B1%D1%80%D0%B0%D1%82%D0%BD%D1%8B%D0%B9+%D0%B7%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA" +
		"%0A%D0%9F%D0%BE%D0%BF%D1%8B%D1%82%D0%BA%D0%B0%3A+2" +
		"%0A%D0%A0%D0%B5%D0%B7%D1%83%D0%BB%D1%8C%D1%82%D0%B0%D1%82%3A+%D1%81%D0%BE%D1%81%D1%82%D0%BE%D1%8F%D0%BB%D1%81%D1%8F" +
		"%0A%D0%A0%D0%B0%D0%B7%D0%B3%D0%BE%D0%B2%D0%BE%D1%80%3A+42+%D1%81" +
		"&sessionId=ct-session-1" +
		"&subject=%D0%9E%D0%B1%D1%80%D0%B0%D1%82%D0%BD%D1%8B%D0%B9+%D0%B7%D0%B2%D0%BE%D0%BD%D0%BE%D0%BA" +
		"&requestDate=24-11-2026+10%3A15%3A00"
	if got := out.Form(); got != want {
		t.Errorf("form\n got %s\nwant %s", got, want)
	}
}

func TestPayload_JSONKeepsWireKeyOrderAndRoundTrips(t *testing.T) {
	all := *placement(1, func(p *Policy) { p.SendFormName, p.SendOrderDate = true, true }).Policy
	out := buildPayload(all, "ord-1", ordered(), nil)
	raw, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"phoneNumber":"79161234567","requestNumber":"ord-1","comment":"CallKeeper",` +
		`"sessionId":"ct-session-1","subject":"Обратный звонок","requestDate":"24-11-2026 10:15:00"}`
	if string(raw) != want {
		t.Errorf("json\n got %s\nwant %s", raw, want)
	}
	var back Payload
	if err := json.Unmarshal(raw, &back); err != nil || back != out {
		t.Errorf("round trip gave %+v, %v", back, err)
	}
}

// outcomeRef is e as the attempt outcome buildPayload takes.
func outcomeRef(e CallEvent) *CallEvent { return &e }
