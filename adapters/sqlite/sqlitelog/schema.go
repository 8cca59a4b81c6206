package sqlitelog

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
)

// Schema is watermill-sql's SchemaAdapter for SQLite, modelled on its
// DefaultMySQLSchema: a topic is one table, its rows in offset order.
//
// SQLite runs one write transaction at a time and a row gets its offset
// inside it, so every later commit holds larger offsets: a reader that has
// read up to offset n never sees a smaller offset appear after it. Commit
// order is offset order, and the offset alone orders the log (PostgreSQL
// needs a transaction_id column and a snapshot check for that).
type Schema struct {
	// GenerateMessagesTableName names a topic's table, quoted; by default
	// "watermill_<topic>".
	GenerateMessagesTableName func(topic string) string

	// JSONPayload stores payloads as JSON text, which SQLite's JSON
	// functions read (payload ->> '$.field'); a payload that is not JSON
	// is refused. Otherwise payloads are opaque BLOBs.
	JSONPayload bool

	// SubscribeBatchSize is how many messages a subscriber reads per
	// query; 100 when zero.
	SubscribeBatchSize int
}

// maxInsertMessages keeps an insert within SQLite's default limit of 32766
// bound parameters: three per message.
const maxInsertMessages = 32766 / 3

func (s Schema) SchemaInitializingQueries(params wsql.SchemaInitializingQueriesParams) ([]wsql.Query, error) {
	payload := "BLOB"
	if s.JSONPayload {
		payload = "TEXT CHECK (json_valid(payload))"
	}
	// AUTOINCREMENT: an offset is never given twice, even after the newest
	// rows were deleted, so a consumer's acked offset never hides new rows.
	return []wsql.Query{{Query: `CREATE TABLE IF NOT EXISTS ` + s.MessagesTable(params.Topic) + ` (
		"offset" INTEGER PRIMARY KEY AUTOINCREMENT,
		uuid TEXT NOT NULL,
		created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
		payload ` + payload + `,
		metadata TEXT
	)`}}, nil
}

func (s Schema) InsertQuery(params wsql.InsertQueryParams) (wsql.Query, error) {
	n := len(params.Msgs)
	if n == 0 {
		return wsql.Query{}, errors.New("insert into log: no messages")
	}
	if n > maxInsertMessages {
		return wsql.Query{}, fmt.Errorf("insert into log: %d messages at once, at most %d", n, maxInsertMessages)
	}
	args := make([]any, 0, 3*n)
	for _, m := range params.Msgs {
		metadata, err := json.Marshal(m.Metadata)
		if err != nil {
			return wsql.Query{}, fmt.Errorf("metadata of message %s: %w", m.UUID, err)
		}
		args = append(args, m.UUID, s.payloadArg(m.Payload), string(metadata))
	}
	q := `INSERT INTO ` + s.MessagesTable(params.Topic) + ` (uuid, payload, metadata) VALUES ` +
		strings.TrimSuffix(strings.Repeat(`(?, ?, ?), `, n), ", ")
	return wsql.Query{Query: q, Args: args}, nil
}

// payloadArg binds a JSON payload as text: bound as bytes, SQLite would
// store a BLOB, which its JSON functions take for binary JSONB.
func (s Schema) payloadArg(p message.Payload) any {
	switch {
	case !s.JSONPayload:
		return []byte(p)
	case p == nil:
		return nil
	default:
		return string(p)
	}
}

func (s Schema) SelectQuery(params wsql.SelectQueryParams) (wsql.Query, error) {
	next, err := params.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{
		Topic: params.Topic, ConsumerGroup: params.ConsumerGroup,
	})
	if err != nil {
		return wsql.Query{}, err
	}
	q := `SELECT "offset", uuid, payload, metadata FROM ` + s.MessagesTable(params.Topic) + `
		WHERE "offset" > (` + next.Query + `)
		ORDER BY "offset"
		LIMIT ` + strconv.Itoa(s.batchSize())
	return wsql.Query{Query: q, Args: next.Args}, nil
}

func (s Schema) batchSize() int {
	if s.SubscribeBatchSize == 0 {
		return 100
	}
	return s.SubscribeBatchSize
}

func (s Schema) UnmarshalMessage(params wsql.UnmarshalMessageParams) (wsql.Row, error) {
	var r wsql.Row
	if err := params.Row.Scan(&r.Offset, &r.UUID, &r.Payload, &r.Metadata); err != nil {
		return wsql.Row{}, fmt.Errorf("scan log row: %w", err)
	}
	msg := message.NewMessage(string(r.UUID), r.Payload)
	if r.Metadata != nil {
		if err := json.Unmarshal(r.Metadata, &msg.Metadata); err != nil {
			return wsql.Row{}, fmt.Errorf("metadata of log row %d: %w", r.Offset, err)
		}
	}
	r.Msg = msg
	return r, nil
}

// SubscribeIsolationLevel is serializable, as every SQLite transaction is;
// the driver takes no level.
func (s Schema) SubscribeIsolationLevel() sql.IsolationLevel { return sql.LevelSerializable }

// MessagesTable is the topic's table name, quoted.
func (s Schema) MessagesTable(topic string) string {
	if s.GenerateMessagesTableName != nil {
		return s.GenerateMessagesTableName(topic)
	}
	return `"watermill_` + topic + `"`
}
