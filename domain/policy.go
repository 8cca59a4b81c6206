package domain

// Hook says when a deferred order is sent: before its call or after it.
type Hook string

const (
	HookBeforeCall Hook = "before_call"
	HookAfterCall  Hook = "after_call"
)

// Policy is one widget's Calltouch integration setting (docs/rules.md, "Policy").
// wire.ParsePolicy builds it from a request body, with defaults, validated.
type Policy struct {
	Enabled         bool   `json:"enabled"`
	SiteID          string `json:"site_id"`
	Server          string `json:"server"`
	Token           string `json:"token,omitempty"`
	Hook            Hook   `json:"hook"`
	OnlySuccessful  bool   `json:"only_successful"`
	OnlyLastAttempt bool   `json:"only_last_attempt"`
	SendFormName    bool   `json:"send_form_name"`
	SendOrderDate   bool   `json:"send_order_date"`
	CommentDetails  bool   `json:"comment_details"`
	Tap2Call        bool   `json:"tap2call"`
}

// Placement is the policy an order was placed under: the widget's version in
// force when the order's call.ordered took its place in the log. Version 0
// with a nil Policy means the widget had no policy at all.
type Placement struct {
	Version int
	Policy  *Policy
}

// Integrated reports whether the order was placed under an enabled integration.
func (p Placement) Integrated() bool { return p.Policy != nil && p.Policy.Enabled }
