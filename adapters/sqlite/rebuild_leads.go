package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// applyLateMoves applies the lead moves that waited for orders never read
// back to their leads' rows in the copies, as leadEvent would have then:
// those rows are the leads as they stood when their orders left memory.
func (m *bulkModel) applyLateMoves(ctx context.Context, tx *sql.Tx) error {
	for _, moves := range m.lateMoves {
		for _, late := range moves {
			var (
				l           leadState
				deliveredAt stamp
			)
			err := tx.QueryRowContext(ctx, `SELECT status, tries, delivered_at FROM `+bulkTables[tableDecisions].name+` WHERE key = ?`,
				string(late.key)).Scan(&l.status, &l.tries, &deliveredAt)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("load lead %s: %w", late.key, err)
			}
			l.deliveredAt = deliveredAt.ptr()
			l.move(late.move)
			if _, err := tx.ExecContext(ctx, `UPDATE `+bulkTables[tableDecisions].name+` SET status = ?, tries = ?, delivered_at = ? WHERE key = ?`,
				l.status, l.tries, tsOrNil(l.deliveredAt), string(late.key)); err != nil {
				return fmt.Errorf("move lead %s on: %w", late.key, err)
			}
		}
	}
	clear(m.lateMoves)
	return nil
}
