package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ctjournal/app"
	"ctjournal/domain"
)

// ReadModel is the projection's store (app.ReadModel). Its methods run in
// the transaction ctx carries: the projection's, committed with the log
// offset, so a record is applied exactly once.
type ReadModel struct{ db *sql.DB }

func NewReadModel(db *sql.DB) *ReadModel { return &ReadModel{db: db} }

func (m *ReadModel) RecordPolicy(ctx context.Context, c app.PolicyChanged, position int64, recordedAt time.Time) error {
	body, err := json.Marshal(c.Policy)
	if err != nil {
		return err
	}
	_, err = on(ctx, m.db).ExecContext(ctx, `INSERT INTO ctj_policy_versions (widget_id, version, policy, token_masked, position, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`, c.WidgetID, c.Version, string(body), c.TokenMasked, position, recordedAt)
	if err != nil {
		return fmt.Errorf("record policy %s v%d: %w", c.WidgetID, c.Version, err)
	}
	return nil
}

// PolicyInForce is the highest version the projection has seen: versions
// are numbered under a lock, so the highest is the latest change even if two
// changes reached the log out of their numbering.
func (m *ReadModel) PolicyInForce(ctx context.Context, widgetID string) (domain.Placement, error) {
	return placementAt(ctx, on(ctx, m.db), widgetID, `ORDER BY version DESC LIMIT 1`)
}

func placementAt(ctx context.Context, q querier, widgetID, where string, args ...any) (domain.Placement, error) {
	var (
		version int
		body    []byte
	)
	err := q.QueryRowContext(ctx, `SELECT version, policy FROM ctj_policy_versions WHERE widget_id = $1 `+where,
		append([]any{widgetID}, args...)...).Scan(&version, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Placement{}, nil
	}
	if err != nil {
		return domain.Placement{}, fmt.Errorf("load policy of widget %s: %w", widgetID, err)
	}
	p := &domain.Policy{}
	if err := json.Unmarshal(body, p); err != nil {
		return domain.Placement{}, fmt.Errorf("decode policy of widget %s v%d: %w", widgetID, version, err)
	}
	return domain.Placement{Version: version, Policy: p}, nil
}

func (m *ReadModel) UpdateOrder(ctx context.Context, orderID string, fold func(domain.OrderState) (*app.OrderChange, error)) error {
	q := on(ctx, m.db)
	state, err := loadOrder(ctx, q, orderID)
	if err != nil {
		return err
	}
	change, err := fold(state)
	if err != nil || change == nil {
		return err
	}
	return storeChange(ctx, q, change)
}

func (m *ReadModel) RecordTry(ctx context.Context, t app.DeliveryTried, position int64) error {
	status := ""
	switch t.Outcome {
	case domain.Delivered:
		status = app.StatusDelivered
	case domain.Refused:
		status = app.StatusFailed
	}
	return m.leadEvent(ctx, position, t.Key, t.Try, t.At, t.DurationMS, &t.HTTPStatus, t.Response, t.Error, string(t.Outcome), status)
}

func (m *ReadModel) RecordGiveUp(ctx context.Context, g app.LeadGivenUp, position int64) error {
	return m.leadEvent(ctx, position, g.Key, 0, g.At, 0, nil, "", g.Reason, leadGivenUp, app.StatusFailed)
}

func (m *ReadModel) RecordRedelivery(ctx context.Context, r app.RedeliveryRequested, position int64) error {
	return m.leadEvent(ctx, position, r.Key, 0, r.At, 0, nil, "", "", leadRedeliveryRequested, app.StatusPending)
}

// Outcomes of ctj_delivery_tries rows that are not requests to Calltouch.
const (
	leadGivenUp             = "given_up"
	leadRedeliveryRequested = "redelivery_requested"
)

// leadEvent records one entry of a lead's delivery history and moves the
// lead's status (when status is not empty).
func (m *ReadModel) leadEvent(ctx context.Context, position int64, key domain.LeadKey, try int, at time.Time,
	durationMS int64, httpStatus *int, response, errText, outcome, status string) error {
	q := on(ctx, m.db)
	if httpStatus != nil && *httpStatus == 0 {
		httpStatus = nil
	}
	res, err := q.ExecContext(ctx, `INSERT INTO ctj_delivery_tries (position, key, try, at, duration_ms, http_status, response, error, outcome)
		VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), $9) ON CONFLICT DO NOTHING`,
		position, string(key), try, at, durationMS, httpStatus, response, errText, outcome)
	if err != nil {
		return fmt.Errorf("record %s of lead %s: %w", outcome, key, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // applied before
	}
	_, err = q.ExecContext(ctx, `UPDATE ctj_decisions SET
			tries = tries + CASE WHEN $2 > 0 THEN 1 ELSE 0 END,
			status = COALESCE(NULLIF($3, ''), status),
			delivered_at = CASE WHEN $3 = 'delivered' THEN $4 ELSE delivered_at END
		WHERE key = $1 AND status <> 'delivered'`, string(key), try, status, at)
	if err != nil {
		return fmt.Errorf("update status of lead %s: %w", key, err)
	}
	return nil
}
