package app

import (
	"encoding/base64"
	"encoding/json"
	"math"

	"ctjournal/domain"
)

// LeadCursor is where a page of leads ended: the last row's sort key, with
// DecidedAt in the form the store compares (T).
type LeadCursor[T any] struct {
	DecidedAt T      `json:"t"`
	OrderID   string `json:"o"`
	Attempt   int    `json:"a"`
}

// Encode is the opaque cursor the listing hands out.
func (c LeadCursor[T]) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeLeadCursor reads a cursor back, refusing one the listing could not
// have handed out: a made-up one may hold what the store cannot compare
// with (U+0000 in the order id, an attempt beyond integer).
func DecodeLeadCursor[T any](s string) (LeadCursor[T], error) {
	var c LeadCursor[T]
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil ||
		domain.ValidateID("cursor", c.OrderID) != nil || c.Attempt < 0 || c.Attempt > math.MaxInt32 {
		return c, NotALeadCursor()
	}
	return c, nil
}

// NotALeadCursor is the error for a cursor the listing did not hand out.
func NotALeadCursor() error {
	return &domain.FieldError{Field: "cursor", Message: "is not a cursor this listing handed out"}
}
