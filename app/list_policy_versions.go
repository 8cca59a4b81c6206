package app

import (
	"context"
	"time"

	"ctjournal/domain"
)

// PolicyVersion is one version of a widget's policy as the log recorded
// it: the token never enters the log, only its masked form does.
type PolicyVersion struct {
	WidgetID    string
	Version     int
	Policy      domain.Policy // Token empty
	TokenMasked string
	Position    int64 // the log record of the change
	RecordedAt  time.Time
}

// ListPolicyVersions shows support what a widget's policy was and when it
// changed.
type ListPolicyVersions struct{ versions PolicyVersions }

func NewListPolicyVersions(v PolicyVersions) ListPolicyVersions {
	return ListPolicyVersions{versions: v}
}

func (h ListPolicyVersions) Handle(ctx context.Context, widgetID string) ([]PolicyVersion, error) {
	return h.versions.PolicyVersions(ctx, widgetID)
}
