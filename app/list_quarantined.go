package app

import "context"

// ListQuarantined lists the log records the projection set aside
// (ctjournal quarantine).
type ListQuarantined struct{ quarantine Quarantine }

func NewListQuarantined(q Quarantine) ListQuarantined { return ListQuarantined{quarantine: q} }

// Handle returns every record set aside, in log order.
func (h ListQuarantined) Handle(ctx context.Context) ([]QuarantinedRecord, error) {
	return h.quarantine.Quarantined(ctx, "")
}
