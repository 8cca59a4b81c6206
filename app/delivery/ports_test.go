package delivery_test

import (
	"context"
	"errors"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// emptyQueue is a delivery queue that never has a lead due.
type emptyQueue struct{}

func (emptyQueue) Claim(context.Context, string, time.Time, time.Time, int) ([]app.ClaimedLead, error) {
	return nil, nil
}

func (emptyQueue) RecordTry(context.Context, string, app.DeliveryTried, time.Time) error {
	return errors.New("no lead was claimed")
}

func (emptyQueue) Release(context.Context, string, domain.LeadKey) error {
	return errors.New("no lead was claimed")
}

func (emptyQueue) GiveUpExpired(context.Context, time.Time) (int, error) { return 0, nil }

func (emptyQueue) Redeliver(context.Context, domain.LeadKey, time.Time, time.Time) error {
	return app.ErrNotFound
}

type noPolicies struct{}

func (noPolicies) UpdatePolicy(context.Context, string, func(*app.StoredPolicy) (domain.Policy, error)) (app.StoredPolicy, error) {
	return app.StoredPolicy{}, errors.New("read-only")
}

func (noPolicies) Policy(context.Context, string) (app.StoredPolicy, error) {
	return app.StoredPolicy{}, app.ErrNotFound
}

type noCalltouch struct{}

func (noCalltouch) Register(context.Context, app.CalltouchRequest) app.CalltouchAnswer {
	return app.CalltouchAnswer{Err: "no Calltouch here"}
}

type noLimit struct{}

func (noLimit) Wait(context.Context, string) error { return nil }
