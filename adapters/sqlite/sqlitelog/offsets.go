package sqlitelog

import (
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
)

// Offsets is watermill-sql's OffsetsAdapter for SQLite, modelled on its
// DefaultMySQLOffsetsAdapter: one row per consumer group, with the last
// offset it acknowledged.
//
// MySQL locks the group's row (FOR UPDATE) so that two subscribers of one
// group do not read the same messages, and writes the offset of each
// message before handing it out, so that a race ends in a deadlock rather
// than a message read twice. SQLite's write lock covers the whole file,
// and a subscriber's transaction holds it from its first statement
// (IMMEDIATE, see Open) until the batch is acknowledged: a second
// subscriber of the group waits, then reads past the first one's offset,
// and no write per message is needed. A connection whose transactions
// begin DEFERRED would read without the lock, so subscribers need a
// database from Open.
type Offsets struct {
	// GenerateMessagesOffsetsTableName names a topic's offsets table,
	// quoted; by default "watermill_offsets_<topic>".
	GenerateMessagesOffsetsTableName func(topic string) string
}

func (a Offsets) SchemaInitializingQueries(params wsql.OffsetsSchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return []wsql.Query{{Query: `CREATE TABLE IF NOT EXISTS ` + a.MessagesOffsetsTable(params.Topic) + ` (
		consumer_group TEXT NOT NULL PRIMARY KEY,
		offset_acked INTEGER NOT NULL
	)`}}, nil
}

func (a Offsets) AckMessageQuery(params wsql.AckMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{
		Query: `INSERT INTO ` + a.MessagesOffsetsTable(params.Topic) + ` (consumer_group, offset_acked)
			VALUES (?, ?)
			ON CONFLICT (consumer_group) DO UPDATE SET offset_acked = excluded.offset_acked`,
		Args: []any{params.ConsumerGroup, params.LastRow.Offset},
	}, nil
}

// ConsumedMessageQuery is empty: the transaction's write lock already keeps
// other subscribers of the group away (see Offsets).
func (a Offsets) ConsumedMessageQuery(wsql.ConsumedMessageQueryParams) (wsql.Query, error) {
	return wsql.Query{}, nil
}

func (a Offsets) NextOffsetQuery(params wsql.NextOffsetQueryParams) (wsql.Query, error) {
	return wsql.Query{
		Query: `SELECT COALESCE((SELECT offset_acked FROM ` + a.MessagesOffsetsTable(params.Topic) + `
			WHERE consumer_group = ?), 0)`,
		Args: []any{params.ConsumerGroup},
	}, nil
}

func (a Offsets) BeforeSubscribingQueries(wsql.BeforeSubscribingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

// MessagesOffsetsTable is the topic's offsets table name, quoted.
func (a Offsets) MessagesOffsetsTable(topic string) string {
	if a.GenerateMessagesOffsetsTableName != nil {
		return a.GenerateMessagesOffsetsTableName(topic)
	}
	return `"watermill_offsets_` + topic + `"`
}
