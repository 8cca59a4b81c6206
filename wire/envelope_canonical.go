package wire

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"ctjournal/domain"
)

// MarshalEvent writes the canonical envelope of a parsed event: the form the
// log stores and compares for idempotency (times in UTC, phones normalised,
// data holding only what the type carries and the event states).
func MarshalEvent(e domain.CallEvent) ([]byte, error) {
	return AppendEvent(nil, e)
}

// AppendEvent appends MarshalEvent's bytes to dst, so a batch's canonical
// forms can share one buffer. The members come in a fixed order, empty
// ones left out, each written as encoding/json writes it without HTML
// escaping: the stored form is compared byte for byte, so it keeps the
// spelling it has always had.
func AppendEvent(dst []byte, e domain.CallEvent) ([]byte, error) {
	if e.Type == domain.CallOrdered && e.Order == nil {
		return dst, fmt.Errorf("marshal event %s: call.ordered without order data", e.EventID)
	}
	start := len(dst)
	dst = append(dst, `{"event_id":`...)
	dst = AppendJSONString(dst, e.EventID)
	dst = append(dst, `,"type":`...)
	dst = AppendJSONString(dst, string(e.Type))
	dst = append(dst, `,"order_id":`...)
	dst = AppendJSONString(dst, e.OrderID)
	dst = append(dst, `,"widget_id":`...)
	dst = AppendJSONString(dst, e.WidgetID)
	dst = append(dst, `,"occurred_at":`...)
	dst, err := appendJSONTime(dst, e.OccurredAt)
	if err != nil {
		return dst[:start], fmt.Errorf("marshal event %s: %w", e.EventID, err)
	}
	dst = append(dst, `,"data":`...)
	m := memberWriter{dst: dst}
	switch e.Type {
	case domain.CallOrdered:
		err = m.orderData(e.Order)
	case domain.CallAnswered:
		m.integer("attempt", e.Attempt)
		if e.TalkSeconds != nil { // zero seconds is a fact, written
			m.name("talk_seconds")
			m.dst = strconv.AppendInt(m.dst, int64(*e.TalkSeconds), 10)
		}
	case domain.CallFailed:
		m.integer("attempt", e.Attempt)
		m.str("reason", e.FailReason)
	default:
		m.integer("attempt", e.Attempt)
	}
	if err != nil {
		return dst[:start], fmt.Errorf("marshal event %s: %w", e.EventID, err)
	}
	return append(m.close(), '}'), nil
}

// memberWriter writes an object's members, leaving out the empty ones as
// omitempty does.
type memberWriter struct {
	dst  []byte
	some bool
}

func (m *memberWriter) name(key string) {
	if m.some {
		m.dst = append(m.dst, ',')
	} else {
		m.dst = append(m.dst, '{')
	}
	m.some = true
	m.dst = AppendJSONString(m.dst, key)
	m.dst = append(m.dst, ':')
}

func (m *memberWriter) str(key, v string) {
	if v != "" {
		m.name(key)
		m.dst = AppendJSONString(m.dst, v)
	}
}

func (m *memberWriter) integer(key string, n int) {
	if n != 0 {
		m.name(key)
		m.dst = strconv.AppendInt(m.dst, int64(n), 10)
	}
}

// close ends the object, "{}" when it had no member.
func (m *memberWriter) close() []byte {
	if !m.some {
		return append(m.dst, '{', '}')
	}
	return append(m.dst, '}')
}

func (m *memberWriter) orderData(o *domain.OrderData) error {
	m.str("kind", string(o.Kind))
	m.str("client_phone", o.ClientPhone)
	m.str("manager_phone", o.ManagerPhone)
	m.str("calltouch_session_id", o.SessionID)
	m.str("form_name", o.FormName)
	if o.ScheduledAt != nil {
		m.name("scheduled_at")
		var err error
		if m.dst, err = appendJSONTime(m.dst, *o.ScheduledAt); err != nil {
			return err
		}
	}
	if len(o.Details) > 0 {
		m.name("details")
		m.dst = appendDetails(m.dst, o.Details)
	}
	return nil
}

// appendDetails writes details as an object with its names sorted, so equal
// maps give equal bytes.
func appendDetails(dst []byte, details map[string]string) []byte {
	keys := make([]string, 0, len(details))
	for k := range details {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	m := memberWriter{dst: dst}
	for _, k := range keys {
		m.name(k)
		m.dst = AppendJSONString(m.dst, details[k])
	}
	return m.close()
}

// appendJSONTime writes t in UTC as time.Time's MarshalJSON does, refusing
// the years RFC 3339 cannot write as it does.
func appendJSONTime(dst []byte, t time.Time) ([]byte, error) {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return dst, fmt.Errorf("time %v: year outside of range [0,9999]", t)
	}
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), nil
}

// UnmarshalEvent reads back what MarshalEvent wrote, also as PostgreSQL
// prints it from JSONB. It trusts its input, as the log holds only parsed
// events: phones are stored digits and are not parsed again (a foreign
// number's digits would not parse under the RU default), and only the
// fields of the event's type are read. It is the projection's and the
// rebuild's hot path, so it reads the members in one pass rather than
// through reflection, and it does not check that its input is valid JSON,
// which PostgreSQL's JSONB and json_agg always print: json.Valid costs a
// second pass over every record. Input that is not JSON still gives an
// error, as the splitters check their bounds.
func UnmarshalEvent(data []byte) (domain.CallEvent, error) {
	e, err := unmarshalEvent(data)
	if err != nil {
		return domain.CallEvent{}, fmt.Errorf("unmarshal event: %w", err)
	}
	return e, nil
}

func unmarshalEvent(payload []byte) (domain.CallEvent, error) {
	// One slice for the members of the record's objects, not one each.
	scratch := make([]jsonMember, 0, 16)
	env, ok := validObjectIn(&scratch, payload, "")
	if !ok {
		return domain.CallEvent{}, errors.New("not a JSON object")
	}
	var e domain.CallEvent
	var err error
	if e.EventID, err = env.str("event_id"); err != nil {
		return domain.CallEvent{}, err
	}
	typ, err := env.knownStr("type", eventTypeNames[:])
	if err != nil {
		return domain.CallEvent{}, err
	}
	e.Type = domain.EventType(typ)
	if err = env.strings(stringField{"order_id", &e.OrderID}, stringField{"widget_id", &e.WidgetID}); err != nil {
		return domain.CallEvent{}, err
	}
	var data jsonObject
	if e.OccurredAt, data, err = timeAndData(env); err != nil {
		return domain.CallEvent{}, err
	}
	if e.Type == domain.CallOrdered {
		e.Order, err = unmarshalOrderData(data)
		return e, err
	}
	if e.Attempt, err = data.int("attempt"); err != nil {
		return domain.CallEvent{}, err
	}
	// The rules index an order's attempts by number: a damaged record's
	// attempt must not reach them. An unknown type is its caller's to name.
	if knownAttemptType(e.Type) && (e.Attempt < 1 || e.Attempt > domain.MaxAttempt) {
		return domain.CallEvent{}, fieldErr("data.attempt", "must be an integer from 1 to %d", domain.MaxAttempt)
	}
	switch e.Type {
	case domain.CallAnswered:
		if _, present := data.raw("talk_seconds"); present {
			talk, err := data.int("talk_seconds")
			if err != nil {
				return domain.CallEvent{}, err
			}
			e.TalkSeconds = &talk
		}
	case domain.CallFailed:
		e.FailReason, err = data.str("reason")
	}
	return e, err
}

// The words a record's type and kind most often are, so that reading one
// back costs no copy.
var (
	eventTypeNames = [...]string{string(domain.CallOrdered), string(domain.CallDialed), string(domain.CallAnswered),
		string(domain.CallFailed), string(domain.CallLastAttempt)}
	orderKindNames = [...]string{string(domain.KindCallback), string(domain.KindTap2Call)}
)

func knownAttemptType(t domain.EventType) bool {
	switch t {
	case domain.CallDialed, domain.CallAnswered, domain.CallFailed, domain.CallLastAttempt:
		return true
	}
	return false
}

func unmarshalOrderData(data jsonObject) (*domain.OrderData, error) {
	o := &domain.OrderData{}
	kind, err := data.knownStr("kind", orderKindNames[:])
	if err != nil {
		return nil, err
	}
	err = data.strings(stringField{"client_phone", &o.ClientPhone},
		stringField{"manager_phone", &o.ManagerPhone}, stringField{"calltouch_session_id", &o.SessionID},
		stringField{"form_name", &o.FormName})
	if err != nil {
		return nil, err
	}
	o.Kind = domain.OrderKind(kind)
	if o.ScheduledAt, err = data.timestamp("scheduled_at"); err != nil {
		return nil, err
	}
	v, present := data.raw("details")
	if !present {
		return o, nil
	}
	details, ok := validObjectIn(data.scratch, v, "data.details.")
	if !ok {
		return nil, fieldErr("data.details", "must be a JSON object")
	}
	// A null value reads as "", as json.Unmarshal into a map of strings has it.
	if o.Details, _, ok = details.stringMap(); !ok {
		return nil, fieldErr("data.details", "must be an object of strings")
	}
	return o, nil
}

// AppendJSONString writes s as encoding/json writes a string without HTML
// escaping: quotes, backslashes and control characters escaped, invalid
// UTF-8 as U+FFFD, U+2028 and U+2029 escaped; "<" stays one byte.
func AppendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
