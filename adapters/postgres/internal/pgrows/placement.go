package pgrows

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/domain"
)

// latestPlacement is the widget's highest policy version in the read model.
func LatestPlacement(ctx context.Context, q pgdb.Querier, widgetID string) (domain.Placement, error) {
	return placementAt(ctx, q, widgetID, `ORDER BY version DESC LIMIT 1`)
}

func placementAt(ctx context.Context, q pgdb.Querier, widgetID, where string, args ...any) (domain.Placement, error) {
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
	return PlacementOf(widgetID, version, body)
}

// placementOf reads a policy version back from its JSONB column.
func PlacementOf(widgetID string, version int, body []byte) (domain.Placement, error) {
	p := &domain.Policy{}
	if err := json.Unmarshal(body, p); err != nil {
		return domain.Placement{}, fmt.Errorf("decode policy of widget %s v%d: %w", widgetID, version, err)
	}
	placement, err := domain.PlacementFromStore(version, p)
	if err != nil {
		return domain.Placement{}, fmt.Errorf("policy of widget %s: %w", widgetID, err)
	}
	return placement, nil
}
