package sqlite

import (
	"context"
	"database/sql"

	"ctjournal/adapters/internal/sqlrows"
	"ctjournal/app"
)

// logPage is one page the log reader fetched ahead; last is the offset of
// its last record.
type logPage struct {
	records []app.LogRecord
	last    int64
	err     error
}

// readAhead reads (after, upto] page by page on its own goroutine, one
// page ahead of the caller, and closes the channel after the last.
func readAhead(ctx context.Context, q querier, after, upto int64, pageSize int) <-chan logPage {
	pages := make(chan logPage, 1)
	go func() {
		defer close(pages)
		for after < upto {
			recs, err := readLog(ctx, q, after, upto, pageSize)
			if err != nil || len(recs) == 0 {
				if err != nil {
					select {
					case pages <- logPage{err: err}:
					case <-ctx.Done():
					}
				}
				return
			}
			after = recs[len(recs)-1].Position
			select {
			case pages <- logPage{records: recs, last: after}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return pages
}

// readLog reads the records after offset after, up to upto, but those set
// aside.
func readLog(ctx context.Context, q querier, after, upto int64, limit int) ([]app.LogRecord, error) {
	recs, err := sqlrows.Collect(ctx, q, "read the log", func(rows *sql.Rows) (app.LogRecord, error) {
		var (
			rec app.LogRecord
			at  stamp
		)
		err := rows.Scan(&rec.Position, &at, &rec.Payload)
		rec.RecordedAt = at.Time
		return rec, err
	}, `SELECT "offset", created_at, payload FROM ctj_log
		WHERE "offset" > ? AND "offset" <= ? AND "offset" NOT IN (SELECT position FROM ctj_poison)
		ORDER BY "offset" LIMIT ?`, after, upto, limit)
	return recs, unavailable(err)
}
