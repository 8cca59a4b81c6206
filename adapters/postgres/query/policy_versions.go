package query

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"ctjournal/adapters/postgres/internal/pgdb"
	"ctjournal/app"
)

// PolicyVersions reads every policy version the projection has seen from
// ctj_policy_versions (app.PolicyVersions): the log's copy, token masked.
type PolicyVersions struct{ db *sql.DB }

func NewPolicyVersions(db *sql.DB) *PolicyVersions { return &PolicyVersions{db: db} }

func (p *PolicyVersions) PolicyVersions(ctx context.Context, widgetID string) ([]app.PolicyVersion, error) {
	rows, err := p.db.QueryContext(ctx, `SELECT version, policy, token_masked, position, recorded_at
		FROM ctj_policy_versions WHERE widget_id = $1 ORDER BY version DESC`, widgetID)
	if err != nil {
		return nil, pgdb.Unavailable(fmt.Errorf("list policy versions of widget %s: %w", widgetID, err))
	}
	defer rows.Close()
	var out []app.PolicyVersion
	for rows.Next() {
		v := app.PolicyVersion{WidgetID: widgetID}
		var body []byte
		if err := rows.Scan(&v.Version, &body, &v.TokenMasked, &v.Position, &v.RecordedAt); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(body, &v.Policy); err != nil {
			return nil, fmt.Errorf("policy version %d of widget %s: %w", v.Version, widgetID, err)
		}
		out = append(out, v)
	}
	return out, pgdb.Unavailable(rows.Err())
}
