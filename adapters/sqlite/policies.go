package sqlite

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

// Policies keeps each widget's latest policy (app.PolicyStore). The
// transaction's write lock serialises updates: no lock of its own needed.
type Policies struct{ s *Store }

func (p *Policies) UpdatePolicy(ctx context.Context, widgetID string, update func(*app.StoredPolicy) (domain.Policy, error)) (app.StoredPolicy, error) {
	var stored app.StoredPolicy
	err := p.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		current, err := loadPolicy(ctx, tx, widgetID)
		if err != nil && !errors.Is(err, app.ErrNotFound) {
			return unavailable(err)
		}
		next, err := update(current)
		if err != nil {
			return err
		}
		stored = app.StoredPolicy{WidgetID: widgetID, Version: 1, Policy: next, UpdatedAt: time.Now().UTC()}
		if current != nil {
			stored.Version = current.Version + 1
		}
		body, err := json.Marshal(next)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO ctj_widget_policies (widget_id, version, policy, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (widget_id) DO UPDATE SET version = excluded.version, policy = excluded.policy, updated_at = excluded.updated_at`,
			widgetID, stored.Version, string(body), ts(stored.UpdatedAt)); err != nil {
			return unavailable(fmt.Errorf("store policy of widget %s: %w", widgetID, err))
		}
		msg, err := record(app.NewPolicyChanged(widgetID, stored.Version, next))
		if err != nil {
			return err
		}
		return unavailable(publish(ctx, tx, msg))
	})
	return stored, err
}

func (p *Policies) Policy(ctx context.Context, widgetID string) (app.StoredPolicy, error) {
	s, err := loadPolicy(ctx, p.s.reader(ctx), widgetID)
	if err != nil {
		return app.StoredPolicy{}, unavailable(err)
	}
	return *s, nil
}

func loadPolicy(ctx context.Context, q querier, widgetID string) (*app.StoredPolicy, error) {
	var (
		version int
		body    string
		at      stamp
	)
	err := q.QueryRowContext(ctx, `SELECT version, policy, updated_at FROM ctj_widget_policies WHERE widget_id = ?`, widgetID).Scan(&version, &body, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, app.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load policy of widget %s: %w", widgetID, err)
	}
	s := &app.StoredPolicy{WidgetID: widgetID, Version: version, UpdatedAt: at.Time}
	if err := s.DecodePolicy([]byte(body)); err != nil {
		return nil, err
	}
	return s, nil
}
