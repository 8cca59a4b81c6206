package projection

import (
	"strconv"
	"time"

	"ctjournal/wire"
)

// The flush sends its rows as JSON arrays for json_to_recordset. They are
// written by hand into one buffer the batch reuses, field by field, instead
// of by encoding/json, whose reflection was a large share of the
// projection's CPU. The output reads back as encoding/json's would
// (row_json_internal_test.go); the keys are the rows' json tags.

// appendRows appends rows as a JSON array, [] when there are none.
func appendRows[T any](b []byte, rows []T, appendRow func(*T, []byte) []byte) []byte {
	b = append(b, '[')
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRow(&rows[i], b)
	}
	return append(b, ']')
}

func (r *policyRow) appendJSON(b []byte) []byte {
	b = appendStringField(b, `{"widget_id":`, r.WidgetID)
	b = appendIntField(b, `,"version":`, int64(r.Version))
	b = append(b, `,"policy":`...)
	if len(r.Policy) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, r.Policy...)
	}
	b = appendStringField(b, `,"token_masked":`, r.TokenMasked)
	b = appendIntField(b, `,"position":`, r.Position)
	b = appendTimeField(b, `,"recorded_at":`, r.RecordedAt)
	return append(b, '}')
}

func (r *orderRow) appendJSON(b []byte) []byte {
	b = appendStringField(b, `{"order_id":`, r.OrderID)
	b = appendStringField(b, `,"widget_id":`, r.WidgetID)
	b = appendIntPtrField(b, `,"policy_version":`, r.PolicyVersion)
	b = appendBoolField(b, `,"placed":`, r.Placed)
	b = appendStringPtrField(b, `,"kind":`, r.Kind)
	b = append(b, `,"has_session_id":`...)
	if r.HasSessionID == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendBool(b, *r.HasSessionID)
	}
	b = appendTimePtrField(b, `,"ordered_at":`, r.OrderedAt)
	b = appendTimePtrField(b, `,"scheduled_at":`, r.ScheduledAt)
	b = appendIntField(b, `,"first_position":`, r.FirstPosition)
	b = appendIntField(b, `,"last_position":`, r.LastPosition)
	return append(b, '}')
}

func (r *eventRow) appendJSON(b []byte) []byte {
	b = appendIntField(b, `{"position":`, r.Position)
	b = appendStringField(b, `,"event_id":`, r.EventID)
	b = appendStringField(b, `,"order_id":`, r.OrderID)
	b = appendStringField(b, `,"widget_id":`, r.WidgetID)
	b = appendStringField(b, `,"type":`, r.Type)
	b = appendIntPtrField(b, `,"attempt":`, r.Attempt)
	b = appendTimeField(b, `,"occurred_at":`, r.OccurredAt)
	b = appendTimeField(b, `,"recorded_at":`, r.RecordedAt)
	b = appendStringPtrField(b, `,"note":`, r.Note)
	b = append(b, `,"transaction_id":`...)
	b = strconv.AppendUint(b, r.TransactionID, 10)
	return append(b, '}')
}

func (r *decisionRow) appendJSON(b []byte) ([]byte, error) {
	b = appendStringField(b, `{"order_id":`, r.OrderID)
	b = appendStringField(b, `,"widget_id":`, r.WidgetID)
	b = appendIntField(b, `,"attempt":`, int64(r.Attempt))
	b = appendStringField(b, `,"decision":`, string(r.Decision))
	b = append(b, `,"key":`...)
	if r.Key == nil {
		b = append(b, "null"...)
	} else {
		b = wire.AppendJSONString(b, string(*r.Key))
	}
	b = appendStringField(b, `,"reason":`, r.Reason)
	b = append(b, `,"warnings":`...)
	if r.Warnings == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, w := range r.Warnings {
			if i > 0 {
				b = append(b, ',')
			}
			b = wire.AppendJSONString(b, w)
		}
		b = append(b, ']')
	}
	b = appendIntPtrField(b, `,"policy_version":`, r.PolicyVersion)
	b = append(b, `,"payload":`...)
	if r.Payload == nil {
		b = append(b, "null"...)
	} else {
		p, err := r.Payload.MarshalJSON()
		if err != nil {
			return b, err
		}
		b = append(b, p...)
	}
	b = appendTimeField(b, `,"decided_at":`, r.DecidedAt)
	b = appendStringField(b, `,"decided_by":`, r.DecidedBy)
	b = appendStringField(b, `,"status":`, r.Status)
	return append(b, '}'), nil
}

func (r *deliveryRow) appendJSON(b []byte) ([]byte, error) {
	b = appendStringField(b, `{"key":`, string(r.Key))
	b = appendStringField(b, `,"order_id":`, r.OrderID)
	b = appendStringField(b, `,"widget_id":`, r.WidgetID)
	p, err := r.Payload.MarshalJSON()
	if err != nil {
		return b, err
	}
	b = append(b, `,"payload":`...)
	b = append(b, p...)
	b = appendTimeField(b, `,"decided_at":`, r.DecidedAt)
	b = appendTimeField(b, `,"deadline_at":`, r.DeadlineAt)
	b = appendStringPtrField(b, `,"claimed_by":`, r.ClaimedBy)
	b = appendTimePtrField(b, `,"claimed_until":`, r.ClaimedUntil)
	return append(b, '}'), nil
}

func (r *leadEventRow) appendJSON(b []byte) []byte {
	b = appendIntField(b, `{"position":`, r.Position)
	b = appendStringField(b, `,"key":`, string(r.Key))
	b = appendIntField(b, `,"try":`, int64(r.Try))
	b = appendTimeField(b, `,"at":`, r.At)
	b = appendIntField(b, `,"duration_ms":`, r.DurationMS)
	b = appendIntPtrField(b, `,"http_status":`, r.HTTPStatus)
	b = appendStringField(b, `,"response":`, r.Response)
	b = appendStringPtrField(b, `,"error":`, r.Error)
	b = appendStringField(b, `,"outcome":`, r.Outcome)
	return append(b, '}')
}

// appendRowsErr is appendRows for rows whose encoding can fail.
func appendRowsErr[T any](b []byte, rows []T, appendRow func(*T, []byte) ([]byte, error)) ([]byte, error) {
	b = append(b, '[')
	for i := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendRow(&rows[i], b); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

func appendStringField(b []byte, key, s string) []byte {
	return wire.AppendJSONString(append(b, key...), s)
}

func appendIntField(b []byte, key string, n int64) []byte {
	return strconv.AppendInt(append(b, key...), n, 10)
}

func appendBoolField(b []byte, key string, v bool) []byte {
	return strconv.AppendBool(append(b, key...), v)
}

func appendTimeField(b []byte, key string, t time.Time) []byte {
	return appendTime(append(b, key...), t)
}

func appendIntPtrField(b []byte, key string, n *int) []byte {
	if n == nil {
		return append(append(b, key...), "null"...)
	}
	return appendIntField(b, key, int64(*n))
}

func appendStringPtrField(b []byte, key string, s *string) []byte {
	if s == nil {
		return append(append(b, key...), "null"...)
	}
	return appendStringField(b, key, *s)
}

func appendTimePtrField(b []byte, key string, t *time.Time) []byte {
	if t == nil {
		return append(append(b, key...), "null"...)
	}
	return appendTimeField(b, key, *t)
}

// appendTime writes t as time.Time.MarshalJSON does.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
