package pgdb

import (
	"fmt"
	"strconv"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// LogTopic is the watermill topic whose table, ctj_log, is the event log.
const LogTopic = "log"

// Metadata keys the subscriber adds to every message it hands out.
const (
	MetaPosition   = "position"
	MetaRecordedAt = "recorded_at"
	// metaTransactionID is the record's place in the subscriber's order
	// with the position: (transaction_id, offset).
	MetaTransactionID = "transaction_id"
)

// LogSchema is watermill-sql's PostgreSQL schema with three changes: the
// tables are named ctj_<topic>, the payload is JSONB (so analysts can query
// the log), and every message carries its log position, transaction id and recorded
// time.
// The select seeks the primary key (transaction_id, offset) directly past
// the consumer's last offset, so a poll reads one batch, not the backlog.
type LogSchema struct {
	wsql.DefaultPostgreSQLSchema
}

func NewLogSchema(batch int) LogSchema {
	return LogSchema{wsql.DefaultPostgreSQLSchema{
		GenerateMessagesTableName: tableName,
		GeneratePayloadType:       func(string) string { return "JSONB" },
		SubscribeBatchSize:        batch,
	}}
}

func tableName(topic string) string { return `"ctj_` + topic + `"` }

func OffsetsAdapter() wsql.DefaultPostgreSQLOffsetsAdapter {
	return wsql.DefaultPostgreSQLOffsetsAdapter{
		GenerateMessagesOffsetsTableName: func(topic string) string { return `"ctj_` + topic + `_offsets"` },
	}
}

// InsertQuery is watermill's, with the payload passed as text: JSONB
// takes no plain JSON in binary format (see binary_parameters in the root package's db.go).
func (s LogSchema) InsertQuery(params wsql.InsertQueryParams) (wsql.Query, error) {
	q, err := s.DefaultPostgreSQLSchema.InsertQuery(params)
	for i, a := range q.Args {
		if b, ok := a.([]byte); ok {
			q.Args[i] = string(b)
		}
	}
	return q, err
}

func (s LogSchema) SelectQuery(params wsql.SelectQueryParams) (wsql.Query, error) {
	next, err := params.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{
		Topic: params.Topic, ConsumerGroup: params.ConsumerGroup,
	})
	if err != nil {
		return wsql.Query{}, err
	}
	batch := s.SubscribeBatchSize
	if batch == 0 {
		batch = 100
	}
	q := `WITH last_processed AS (` + next.Query + `)
		SELECT "offset", transaction_id, uuid, payload, metadata, created_at
		FROM ` + s.MessagesTable(params.Topic) + `
		WHERE (transaction_id, "offset") > (
				(SELECT last_processed_transaction_id FROM last_processed),
				(SELECT offset_acked FROM last_processed))
			AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY transaction_id ASC, "offset" ASC
		LIMIT ` + strconv.Itoa(batch)
	return wsql.Query{Query: q, Args: next.Args}, nil
}

// PollReader is rows of a log poll that want to know each record's
// payload as the subscriber reads it (the projection reads its orders
// ahead). Exported, so that a type of another package can have it.
type PollReader interface{ Polled(payload []byte) }

func (s LogSchema) UnmarshalMessage(params wsql.UnmarshalMessageParams) (wsql.Row, error) {
	var (
		r          wsql.Row
		txID       wsql.XID8
		recordedAt time.Time
	)
	if err := params.Row.Scan(&r.Offset, &txID, &r.UUID, &r.Payload, &r.Metadata, &recordedAt); err != nil {
		return wsql.Row{}, fmt.Errorf("scan log row: %w", err)
	}
	msg := message.NewMessage(string(r.UUID), r.Payload)
	msg.Metadata.Set(MetaPosition, strconv.FormatInt(r.Offset, 10))
	msg.Metadata.Set(MetaRecordedAt, recordedAt.UTC().Format(time.RFC3339Nano))
	msg.Metadata.Set(MetaTransactionID, strconv.FormatUint(uint64(txID), 10))
	r.Msg = msg
	r.ExtraData = map[string]any{"transaction_id": txID}
	if p, ok := params.Row.(PollReader); ok {
		p.Polled(r.Payload)
	}
	return r, nil
}

// PoisonTopic holds log records the projection could never apply.
const PoisonTopic = "poison"

// ProjectionConsumerGroup is the watermill consumer group whose stored
// offset says how far the projection has folded the log.
const ProjectionConsumerGroup = "projection"
