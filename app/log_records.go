package app

import (
	"time"

	"ctjournal/domain"
)

// Record types the log holds besides call events. Call events keep their own
// type names (call.ordered, …).
const (
	TypePolicyChanged       = "policy.changed"
	TypeDeliveryTried       = "delivery.tried"
	TypeLeadGivenUp         = "lead.given_up"
	TypeRedeliveryRequested = "lead.redelivery_requested"
)

// PolicyChanged is a widget policy change as the log keeps it. The token
// never enters the log: only its masked form does.
type PolicyChanged struct {
	Type        string        `json:"type"`
	WidgetID    string        `json:"widget_id"`
	Version     int           `json:"version"`
	Policy      domain.Policy `json:"policy"` // Token empty
	TokenMasked string        `json:"token_masked"`
}

// NewPolicyChanged strips the token from p for the log.
func NewPolicyChanged(widgetID string, version int, p domain.Policy) PolicyChanged {
	masked := domain.MaskToken(p.Token)
	p.Token = ""
	return PolicyChanged{Type: TypePolicyChanged, WidgetID: widgetID, Version: version, Policy: p, TokenMasked: masked}
}

// DeliveryTried is one try to send a lead to Calltouch.
type DeliveryTried struct {
	Type       string            `json:"type"`
	Key        domain.LeadKey    `json:"key"`
	OrderID    string            `json:"order_id"`
	WidgetID   string            `json:"widget_id"`
	Try        int               `json:"try"`
	At         time.Time         `json:"at"`
	DurationMS int64             `json:"duration_ms"`
	HTTPStatus int               `json:"http_status"`
	Response   string            `json:"response"`
	Error      string            `json:"error,omitempty"`
	RequestID  string            `json:"request_id,omitempty"`
	Outcome    domain.TryOutcome `json:"outcome"`
}

// LeadGivenUp fails a lead that was not delivered before its deadline.
type LeadGivenUp struct {
	Type     string         `json:"type"`
	Key      domain.LeadKey `json:"key"`
	OrderID  string         `json:"order_id"`
	WidgetID string         `json:"widget_id"`
	At       time.Time      `json:"at"`
	Reason   string         `json:"reason"`
}

// RedeliveryRequested puts a failed lead back in the queue (support's call).
type RedeliveryRequested struct {
	Type     string         `json:"type"`
	Key      domain.LeadKey `json:"key"`
	OrderID  string         `json:"order_id"`
	WidgetID string         `json:"widget_id"`
	At       time.Time      `json:"at"`
}
