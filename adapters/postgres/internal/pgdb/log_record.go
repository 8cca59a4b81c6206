package pgdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
)

// publish appends messages to the log inside tx, through watermill-sql's
// publisher, so the log rows commit or vanish with the rest of tx.
func Publish(ctx context.Context, tx *sql.Tx, msgs ...*message.Message) error {
	pub, err := wsql.NewPublisher(wsql.TxFromStdSQL(tx), wsql.PublisherConfig{SchemaAdapter: NewLogSchema(0)}, watermill.NopLogger{})
	if err != nil {
		return fmt.Errorf("log publisher: %w", err)
	}
	for _, m := range msgs {
		m.SetContext(ctx)
	}
	if err := pub.Publish(LogTopic, msgs...); err != nil {
		return fmt.Errorf("append to log: %w", err)
	}
	return Notify(ctx, tx, ChannelLog)
}

// record builds a log message for one of the app's log records.
func Record(v any) (*message.Message, error) { return RecordWithID(uuid.NewString(), v) }

// recordWithID is record under a given id: the log stores one record per id.
func RecordWithID(id string, v any) (*message.Message, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode log record: %w", err)
	}
	return message.NewMessage(id, payload), nil
}
