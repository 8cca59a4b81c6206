package app

import "context"

// RetryQuarantined applies records the projection set aside again, after
// a fix (ctjournal quarantine retry), through the projection's own rules.
type RetryQuarantined struct {
	quarantine Quarantine
	project    ProjectRecord
}

// NewRetryQuarantined retries through project, whose read models and
// outbox are the live ones: a lead a retried record decides is queued.
func NewRetryQuarantined(q Quarantine, project ProjectRecord) RetryQuarantined {
	return RetryQuarantined{quarantine: q, project: project}
}

// Handle applies the records at positions again, every one set aside when
// positions is empty, in log order; one that fails again stays aside.
func (h RetryQuarantined) Handle(ctx context.Context, positions []int64) ([]ReapplyOutcome, error) {
	return h.quarantine.Reapply(ctx, positions, h.apply)
}

// apply is the projection's Handle, with a panic turned into the record's
// error as the projection's own router does.
func (h RetryQuarantined) apply(ctx context.Context, rec LogRecord) error {
	return applyRecord(ctx, h.project, rec)
}
