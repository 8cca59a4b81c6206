package projection

import (
	"context"
	"database/sql"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/lib/pq"

	"ctjournal/adapters/postgres/internal/pgdb"
)

// KeyedStatements are the projection's statements that find rows through
// keys passed with them.
var KeyedStatements = []struct {
	Name, Table, Query string
	Args               []any
}{
	{Name: "recordLeadHistory", Table: "ctj_decisions", Query: recordLeadHistory, Args: []any{
		`[{"position":1,"key":"k-7","try":1,"at":"2026-01-01T00:00:00Z","outcome":"delivered"}]`,
		pq.Array([]string{"k-7"})}},
	{Name: "moveDecisionsOn", Table: "ctj_decisions", Query: moveDecisionsOn, Args: []any{
		`[{"key":"k-7","status":"delivered","tries":1,"delivered_at":"2026-01-01T00:00:00Z"}]`,
		pq.Array([]string{"k-7"})}},
}

// SubscriberAckIsDeferred reports whether the projection's transaction
// takes watermill-sql's offset update, as the subscriber words it, for
// its flush instead of running it at once.
func SubscriberAckIsDeferred() bool {
	q, err := pgdb.OffsetsAdapter().AckMessageQuery(wsql.AckMessageQueryParams{Topic: pgdb.LogTopic})
	if err != nil {
		return false
	}
	t := &guardedTx{} // no connection: running the query would panic
	_, err = t.ExecContext(context.Background(), q.Query, int64(7), wsql.XID8(9), pgdb.ProjectionConsumerGroup)
	return err == nil && len(t.ack) == 3
}

// WaitForFlush rewrites the claims of the leads keys name, flushing the
// WAL past every commit before (walFlusher).
func WaitForFlush(ctx context.Context, db *sql.DB, keys []string) error {
	return walFlusher(db)(ctx, keys)
}
