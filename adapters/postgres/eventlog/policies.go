package eventlog

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
	"ctjournal/domain"
)

// Policies keeps each widget's latest policy and logs every change
// (app.PolicyStore).
type Policies struct{ db *sql.DB }

func NewPolicies(db *sql.DB) *Policies { return &Policies{db: db} }

// UpdatePolicy stores update's result as the widget's next version and
// appends the change (without the token) to the log, in one transaction.
func (p *Policies) UpdatePolicy(ctx context.Context, widgetID string, update func(*app.StoredPolicy) (domain.Policy, error)) (app.StoredPolicy, error) {
	var stored app.StoredPolicy
	err := pgdb.InTx(ctx, p.db, func(ctx context.Context, tx *sql.Tx) error {
		// The lock orders concurrent changes of one widget, including its first.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('policy:' || $1, 0))`, widgetID); err != nil {
			return fmt.Errorf("lock widget %s: %w", widgetID, err)
		}
		current, err := loadPolicy(ctx, tx, widgetID)
		if err != nil && !errors.Is(err, app.ErrNotFound) {
			return err
		}
		next, err := update(current)
		if err != nil {
			return err
		}
		stored = app.StoredPolicy{WidgetID: widgetID, Version: 1, Policy: next}
		if current != nil {
			stored.Version = current.Version + 1
		}
		body, err := json.Marshal(next)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO ctj_widget_policies (widget_id, version, policy) VALUES ($1, $2, $3)
			ON CONFLICT (widget_id) DO UPDATE SET version = excluded.version, policy = excluded.policy, updated_at = now()
			RETURNING updated_at`, widgetID, stored.Version, string(body)).Scan(&stored.UpdatedAt); err != nil {
			return fmt.Errorf("store policy of widget %s: %w", widgetID, err)
		}
		msg, err := pgdb.Record(app.NewPolicyChanged(widgetID, stored.Version, next))
		if err != nil {
			return err
		}
		return pgdb.Publish(ctx, tx, msg)
	})
	return stored, err
}

// Policy returns the widget's latest policy, token included.
func (p *Policies) Policy(ctx context.Context, widgetID string) (app.StoredPolicy, error) {
	s, err := loadPolicy(ctx, pgdb.On(ctx, p.db), widgetID)
	if err != nil {
		return app.StoredPolicy{}, pgdb.Unavailable(err)
	}
	return *s, nil
}

func loadPolicy(ctx context.Context, q pgdb.Querier, widgetID string) (*app.StoredPolicy, error) {
	var (
		version int
		body    []byte
		at      time.Time
	)
	err := q.QueryRowContext(ctx, `SELECT version, policy, updated_at FROM ctj_widget_policies WHERE widget_id = $1`, widgetID).Scan(&version, &body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, app.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load policy of widget %s: %w", widgetID, err)
	}
	s := &app.StoredPolicy{WidgetID: widgetID, Version: version, UpdatedAt: at.UTC()}
	if err := s.DecodePolicy(body); err != nil {
		return nil, err
	}
	return s, nil
}
