package pgrows

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
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
	return app.PlacementOf(widgetID, version, body)
}
