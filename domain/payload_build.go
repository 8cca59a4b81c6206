package domain

import "unicode/utf8"

// maxSubject is Calltouch's limit on a request subject, in code points.
const maxSubject = 256

// buildPayload is what the lead with this key sends: the order as its
// call.ordered told it, and the outcome of the attempt decided on (nil for a
// lead sent at order time). It is built once, when the lead is decided.
func buildPayload(p Policy, key LeadKey, ordered CallEvent, outcome *CallEvent) Payload {
	o := ordered.Order
	out := Payload{
		PhoneNumber:   o.Phone(),
		RequestNumber: string(key),
		Comment:       comment(p.CommentDetails, o, outcome),
		SessionID:     o.SessionID,
	}
	if p.SendFormName {
		out.Subject = truncate(o.FormName, maxSubject)
	}
	if p.SendOrderDate {
		out.RequestDate = ordered.OccurredAt.In(moscow).Format(requestDateLayout)
	}
	return out
}

// truncate keeps the first n code points of s.
func truncate(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// ellipsize cuts s to n code points in all, the "…" that marks the cut
// included.
func ellipsize(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return truncate(s, n-1) + "…"
}
