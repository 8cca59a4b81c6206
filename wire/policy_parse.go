package wire

import (
	"slices"

	"ctjournal/domain"
)

// policyFields are the members a policy body may have (docs/api.md).
var policyFields = []string{
	"enabled", "site_id", "server", "token", "hook", "only_successful",
	"only_last_attempt", "send_form_name", "send_order_date", "comment_details", "tap2call",
}

// ParsePolicy reads the body of PUT /v1/widgets/{widget_id}/calltouch: the
// whole policy, with defaults for what it leaves out (enabled, after_call,
// every other switch off), validated. Unknown fields are refused, because a
// misspelt switch would otherwise fall back to its default unnoticed.
func ParsePolicy(raw []byte) (domain.Policy, error) {
	obj, ok := parseObject(raw, "")
	if !ok {
		return domain.Policy{}, fieldErr("", "policy must be a JSON object")
	}
	if path, inName, found := nulString(raw); found {
		return domain.Policy{}, nulError(path, inName)
	}
	var unknown []string
	for _, m := range obj.members {
		if !slices.Contains(policyFields, string(m.key)) {
			unknown = append(unknown, string(m.key))
		}
	}
	if len(unknown) > 0 {
		return domain.Policy{}, fieldErr(slices.Min(unknown), "unknown field")
	}

	p := domain.Policy{Enabled: true}
	var hook string
	var err error
	for _, f := range []struct {
		key string
		dst *string
	}{{"site_id", &p.SiteID}, {"server", &p.Server}, {"token", &p.Token}, {"hook", &hook}} {
		if *f.dst, err = obj.str(f.key); err != nil {
			return domain.Policy{}, err
		}
	}
	p.Hook = domain.HookAfterCall
	if hook != "" {
		p.Hook = domain.Hook(hook)
	}
	for _, f := range []struct {
		key string
		dst *bool
	}{
		{"enabled", &p.Enabled}, {"only_successful", &p.OnlySuccessful},
		{"only_last_attempt", &p.OnlyLastAttempt}, {"send_form_name", &p.SendFormName},
		{"send_order_date", &p.SendOrderDate}, {"comment_details", &p.CommentDetails},
		{"tap2call", &p.Tap2Call},
	} {
		if *f.dst, err = obj.boolean(f.key, *f.dst); err != nil {
			return domain.Policy{}, err
		}
	}
	return p, p.Validate()
}
