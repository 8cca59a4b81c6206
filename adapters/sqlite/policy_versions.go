package sqlite

import (
	"context"
	"encoding/json"
	"fmt"

	"ctjournal/app"
)

// PolicyVersions reads every policy version the projection has seen
// (app.PolicyVersions): the log's copy, token masked.
type PolicyVersions struct{ s *Store }

func (p *PolicyVersions) PolicyVersions(ctx context.Context, widgetID string) ([]app.PolicyVersion, error) {
	rows, err := p.s.reader(ctx).QueryContext(ctx, `SELECT version, policy, token_masked, position, recorded_at
		FROM ctj_policy_versions WHERE widget_id = ? ORDER BY version DESC`, widgetID)
	if err != nil {
		return nil, unavailable(fmt.Errorf("list policy versions of widget %s: %w", widgetID, err))
	}
	defer rows.Close()
	var out []app.PolicyVersion
	for rows.Next() {
		v := app.PolicyVersion{WidgetID: widgetID}
		var (
			body     string
			recorded stamp
		)
		if err := rows.Scan(&v.Version, &body, &v.TokenMasked, &v.Position, &recorded); err != nil {
			return nil, unavailable(err)
		}
		if err := json.Unmarshal([]byte(body), &v.Policy); err != nil {
			return nil, fmt.Errorf("policy version %d of widget %s: %w", v.Version, widgetID, err)
		}
		v.RecordedAt = recorded.Time
		out = append(out, v)
	}
	return out, unavailable(rows.Err())
}
