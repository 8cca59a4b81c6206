package wire

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"ctjournal/domain"
)

// MaxBatch is the most events one ingest request may carry.
const MaxBatch = 1000

// maxDetailsBytes bounds call.ordered's details, measured as compact JSON.
const maxDetailsBytes = 16 << 10

// An event's times must lie in [earliestTime, latestTime) (docs/api.md),
// compared as instants: every store holds them, and none is near the end
// of a range where an offset could tip it over.
var (
	earliestTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latestTime   = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ParseEvent validates one event envelope (docs/api.md, "Events in") and
// returns the fact it states, with phones normalised and times in UTC.
// A *domain.FieldError names the first offending field ("event_id", "data.attempt",
// "data.client_phone", …). Unknown fields are ignored, so producers can send
// newer envelopes; null and "" mean the field is absent.
func ParseEvent(raw json.RawMessage) (domain.CallEvent, error) {
	if !validJSON(raw) {
		return domain.CallEvent{}, fieldErr("", "event must be a JSON object")
	}
	return parseValidEvent(nil, raw)
}

// parseValidEvent is ParseEvent for JSON already checked valid. The
// objects' members go onto *scratch (nil: slices of their own), which the
// event no longer needs once parsed.
func parseValidEvent(scratch *[]jsonMember, raw json.RawMessage) (domain.CallEvent, error) {
	env, ok := validObjectIn(scratch, raw, "")
	if !ok {
		return domain.CallEvent{}, fieldErr("", "event must be a JSON object")
	}
	if path, inName, found := nulString(raw); found {
		return domain.CallEvent{}, nulError(path, inName)
	}
	var e domain.CallEvent
	var err error
	if e.EventID, err = parseEventID(env); err != nil {
		return domain.CallEvent{}, err
	}
	if e.Type, err = parseEventType(env); err != nil {
		return domain.CallEvent{}, err
	}
	if e.OrderID, err = parseRef(env, "order_id"); err != nil {
		return domain.CallEvent{}, err
	}
	if e.WidgetID, err = parseRef(env, "widget_id"); err != nil {
		return domain.CallEvent{}, err
	}
	var data jsonObject
	if e.OccurredAt, data, err = timeAndData(env); err != nil {
		return domain.CallEvent{}, err
	}
	if err = checkTimeRange("occurred_at", e.OccurredAt); err != nil {
		return domain.CallEvent{}, err
	}
	if e.Type == domain.CallOrdered {
		e.Order, err = parseOrderData(data)
	} else {
		err = parseAttemptData(&e, data)
	}
	if err != nil {
		return domain.CallEvent{}, err
	}
	return e, nil
}

// timeAndData reads what every envelope holds besides its ids: when it
// happened, and its data object (empty when absent).
func timeAndData(env jsonObject) (time.Time, jsonObject, error) {
	at, err := env.requiredTimestamp("occurred_at")
	if err != nil {
		return time.Time{}, jsonObject{}, err
	}
	data, err := env.object("data", "data.")
	return at, data, err
}

// checkTimeRange refuses a time outside [earliestTime, latestTime).
func checkTimeRange(field string, t time.Time) error {
	if t.Before(earliestTime) || !t.Before(latestTime) {
		return fieldErr(field, "must be from 2000-01-01T00:00:00Z up to (not including) 2100-01-01T00:00:00Z")
	}
	return nil
}

// parseEventID accepts only the canonical 8-4-4-4-12 form (uuid.Parse alone
// would also take braces, "urn:uuid:" and bare hex), so one id has one
// spelling in the log.
func parseEventID(env jsonObject) (string, error) {
	b, err := env.strBytes("event_id")
	switch {
	case err != nil:
		return "", err
	case len(b) == 0:
		return "", fieldErr("event_id", "required")
	}
	id, err := uuid.ParseBytes(b)
	if len(b) != 36 || err != nil {
		return "", fieldErr("event_id", "must be a UUID such as 5b0c8a52-2b1f-4d6e-9a51-7f1f0c3f2a10")
	}
	if bytes.ContainsAny(b, "ABCDEF") {
		return id.String(), nil
	}
	return string(b), nil // already as id.String() writes it
}

// eventTypes are the types an envelope may have.
var eventTypes = [...]domain.EventType{domain.CallOrdered, domain.CallDialed, domain.CallAnswered, domain.CallFailed, domain.CallLastAttempt}

func parseEventType(env jsonObject) (domain.EventType, error) {
	b, err := env.strBytes("type")
	switch {
	case err != nil:
		return "", err
	case len(b) == 0:
		return "", fieldErr("type", "required")
	}
	for _, t := range eventTypes {
		if string(b) == string(t) {
			return t, nil
		}
	}
	return "", fieldErr("type", "must be one of %s, %s, %s, %s, %s",
		domain.CallOrdered, domain.CallDialed, domain.CallAnswered, domain.CallFailed, domain.CallLastAttempt)
}

// parseRef reads an order or widget id.
func parseRef(env jsonObject, key string) (string, error) {
	s, err := env.requiredStr(key)
	if err != nil {
		return "", err
	}
	return s, domain.ValidateID(key, s)
}

func parseOrderData(data jsonObject) (*domain.OrderData, error) {
	o := &domain.OrderData{Kind: domain.KindCallback}
	kind, err := data.strBytes("kind")
	if err != nil {
		return nil, err
	}
	switch {
	case len(kind) == 0, string(kind) == string(domain.KindCallback):
	case string(kind) == string(domain.KindTap2Call):
		o.Kind = domain.KindTap2Call
	default:
		return nil, fieldErr("data.kind", "must be %s or %s", domain.KindCallback, domain.KindTap2Call)
	}
	if o.ClientPhone, err = parsePhone(data, "client_phone", o.Kind == domain.KindCallback); err != nil {
		return nil, err
	}
	if o.ManagerPhone, err = parsePhone(data, "manager_phone", o.Kind == domain.KindTap2Call); err != nil {
		return nil, err
	}
	if o.SessionID, err = data.str("calltouch_session_id"); err != nil {
		return nil, err
	}
	if o.FormName, err = data.str("form_name"); err != nil {
		return nil, err
	}
	if o.ScheduledAt, err = data.timestamp("scheduled_at"); err != nil {
		return nil, err
	}
	if o.ScheduledAt != nil {
		if err := checkTimeRange(data.path("scheduled_at"), *o.ScheduledAt); err != nil {
			return nil, err
		}
	}
	if o.Details, err = parseDetails(data); err != nil {
		return nil, err
	}
	return o, nil
}

// parsePhone validates and normalises a phone even where the kind does not
// need it: the log keeps only numbers that are numbers.
func parsePhone(data jsonObject, key string, required bool) (string, error) {
	s, err := data.str(key)
	switch {
	case err != nil:
		return "", err
	case s == "" && required:
		return "", fieldErr(data.path(key), "required")
	case s == "":
		return "", nil
	}
	digits, err := domain.NormalizePhone(s)
	if err != nil {
		return "", fieldErr(data.path(key), "is not a valid phone number")
	}
	return digits, nil
}

// parseDetails reads the free-form details; an empty object is no details,
// so that absent and {} are one fact in the log.
func parseDetails(data jsonObject) (map[string]string, error) {
	v, present := data.raw("details")
	if !present {
		return nil, nil
	}
	obj, ok := validObjectIn(data.scratch, v, "data.details.")
	if !ok {
		return nil, fieldErr("data.details", "must be an object of string to string")
	}
	details, nulls, ok := obj.stringMap()
	switch {
	case !ok:
		return nil, fieldErr("data.details", "must be an object of string to string")
	case len(nulls) > 0:
		return nil, fieldErr("data.details", "must be an object of string to string (%q is null)", nulls[0])
	case len(details) == 0:
		return nil, nil
	}
	// Written back, a details object is at most three times as long as sent
	// (a byte of invalid UTF-8 becomes U+FFFD), so only a long one is
	// measured.
	if len(v) > maxDetailsBytes/3 && len(appendDetails(nil, details)) > maxDetailsBytes {
		return nil, fieldErr("data.details", "must be at most 16 KiB as JSON")
	}
	return details, nil
}

// parseAttemptData reads the data of dialed, answered, failed and
// last_attempt events: the attempt and what the type adds to it.
func parseAttemptData(e *domain.CallEvent, data jsonObject) error {
	n, present, ok := data.integer("attempt")
	if !present {
		return fieldErr("data.attempt", "required")
	}
	if !ok || n < 1 || n > domain.MaxAttempt {
		return fieldErr("data.attempt", "must be an integer from 1 to %d", domain.MaxAttempt)
	}
	e.Attempt = int(n)
	switch e.Type {
	case domain.CallAnswered:
		n, present, ok := data.integer("talk_seconds")
		if present && (!ok || n < 0 || n > domain.MaxTalkSeconds) {
			return fieldErr("data.talk_seconds", "must be an integer from 0 to %d", domain.MaxTalkSeconds)
		}
		if present {
			talk := int(n)
			e.TalkSeconds = &talk
		}
	case domain.CallFailed:
		reason, err := data.str("reason")
		if err != nil {
			return err
		}
		e.FailReason = reason
	}
	return nil
}
