package sqlitelog_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"ctjournal/adapters/sqlite/sqlitelog"
)

// jsonLog is the schema as the store's log uses it: JSON payloads, in a
// table of its own name.
var jsonLog = sqlitelog.Schema{
	GenerateMessagesTableName: func(topic string) string { return `"ctj_` + topic + `"` },
	JSONPayload:               true,
}

var jsonLogOffsets = sqlitelog.Offsets{
	GenerateMessagesOffsetsTableName: func(topic string) string { return `"ctj_` + topic + `_offsets"` },
}

func TestLog_TopicAndOffsetsSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db := openStore(t, path)
	initTopic(t, db, "log")
	var published []string
	for i := range 5 {
		m := message.NewMessage(fmt.Sprintf("event-%d", i), fmt.Appendf(nil, `{"n":%d}`, i))
		m.Metadata.Set("source", "test")
		publish(t, db, "log", m)
		published = append(published, m.UUID)
	}

	// Group g takes three messages and stops before the fourth.
	sub := subscriber(t, db, "g")
	msgs, err := sub.Subscribe(context.Background(), "log")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	for i := range 3 {
		m := receive(t, msgs)
		if m.UUID != published[i] {
			t.Fatalf("message %d: got %s, want %s", i, m.UUID, published[i])
		}
		m.Ack()
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("close subscriber: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}

	db = openStore(t, path)
	var acked int64
	if err := db.QueryRow(`SELECT offset_acked FROM ctj_log_offsets WHERE consumer_group = 'g'`).Scan(&acked); err != nil {
		t.Fatalf("read offsets of g after reopening: %v", err)
	}
	if acked != 3 {
		t.Errorf("g's acked offset after reopening: got %d, want 3", acked)
	}
	if got := readAll(t, db, "g", 2); !slices.Equal(uuids(got), published[3:]) {
		t.Errorf("g after reopening: got %v, want %v", uuids(got), published[3:])
	}
	all := readAll(t, db, "h", 5)
	if !slices.Equal(uuids(all), published) {
		t.Errorf("new group h after reopening: got %v, want %v", uuids(all), published)
	}
	for i, m := range all {
		if want := fmt.Sprintf(`{"n":%d}`, i); string(m.Payload) != want || m.Metadata.Get("source") != "test" {
			t.Errorf("message %s after reopening: payload %s, metadata %v; want %s with source=test", m.UUID, m.Payload, m.Metadata, want)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT payload ->> '$.n' FROM ctj_log WHERE uuid = 'event-4'`).Scan(&n); err != nil || n != 4 {
		t.Errorf("JSON functions on the payload: got %d, %v; want 4", n, err)
	}
}

func TestLog_OffsetNeverGivenTwice(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "store.db"))
	initTopic(t, db, "log")
	publish(t, db, "log", message.NewMessage("a", []byte(`{}`)), message.NewMessage("b", []byte(`{}`)))
	if _, err := db.Exec(`DELETE FROM ctj_log WHERE uuid = 'b'`); err != nil {
		t.Fatalf("delete newest row: %v", err)
	}
	publish(t, db, "log", message.NewMessage("c", []byte(`{}`)))
	var offset int64
	if err := db.QueryRow(`SELECT "offset" FROM ctj_log WHERE uuid = 'c'`).Scan(&offset); err != nil {
		t.Fatalf("read offset: %v", err)
	}
	if offset != 3 {
		t.Errorf("offset after the newest row was deleted: got %d, want 3 (2 was given already)", offset)
	}
}

func TestSchema_JSONPayloadRefusesOtherPayloads(t *testing.T) {
	db := openStore(t, filepath.Join(t.TempDir(), "store.db"))
	initTopic(t, db, "log")
	pub := publisher(t, db)
	if err := pub.Publish("log", message.NewMessage("x", []byte(`not json`))); err == nil {
		t.Error("a payload that is not JSON was stored in a JSON log")
	}
}

func TestSchema_InsertQueryRefusesTooManyMessages(t *testing.T) {
	msgs := make(message.Messages, 20000)
	for i := range msgs {
		msgs[i] = message.NewMessage(watermill.NewUUID(), []byte(`{}`))
	}
	if _, err := jsonLog.InsertQuery(wsql.InsertQueryParams{Topic: "log", Msgs: msgs}); err == nil {
		t.Error("an insert of 20000 messages was built past SQLite's parameter limit")
	}
	if _, err := jsonLog.InsertQuery(wsql.InsertQueryParams{Topic: "log"}); err == nil {
		t.Error("an insert of no messages was built")
	}
}

func openStore(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sqlitelog.Open(path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func initTopic(t *testing.T, db *sql.DB, topic string) {
	t.Helper()
	if err := subscriber(t, db, "init").SubscribeInitialize(topic); err != nil {
		t.Fatalf("initialize topic %s: %v", topic, err)
	}
}

func publisher(t *testing.T, db *sql.DB) *wsql.Publisher {
	t.Helper()
	pub, err := wsql.NewPublisher(wsql.BeginnerFromStdSQL(db), wsql.PublisherConfig{SchemaAdapter: jsonLog}, watermill.NopLogger{})
	if err != nil {
		t.Fatalf("publisher: %v", err)
	}
	return pub
}

func publish(t *testing.T, db *sql.DB, topic string, msgs ...*message.Message) {
	t.Helper()
	if err := publisher(t, db).Publish(topic, msgs...); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

func subscriber(t *testing.T, db *sql.DB, group string) *wsql.Subscriber {
	t.Helper()
	sub, err := wsql.NewSubscriber(wsql.BeginnerFromStdSQL(db), wsql.SubscriberConfig{
		ConsumerGroup:  group,
		PollInterval:   10 * time.Millisecond,
		SchemaAdapter:  jsonLog,
		OffsetsAdapter: jsonLogOffsets,
	}, watermill.NopLogger{})
	if err != nil {
		t.Fatalf("subscriber: %v", err)
	}
	t.Cleanup(func() { sub.Close() })
	return sub
}

// readAll reads n messages of topic "log" as group, acking each, then
// closes its subscriber.
func readAll(t *testing.T, db *sql.DB, group string, n int) message.Messages {
	t.Helper()
	sub := subscriber(t, db, group)
	msgs, err := sub.Subscribe(context.Background(), "log")
	if err != nil {
		t.Fatalf("subscribe %s: %v", group, err)
	}
	var got message.Messages
	for range n {
		m := receive(t, msgs)
		got = append(got, m)
		m.Ack()
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("close subscriber %s: %v", group, err)
	}
	return got
}

// receive waits for the next message; the timeout only ends a test that
// would otherwise hang.
func receive(t *testing.T, msgs <-chan *message.Message) *message.Message {
	t.Helper()
	select {
	case m := <-msgs:
		return m
	case <-time.After(time.Minute):
		t.Fatal("no message within a minute")
		return nil
	}
}

func uuids(msgs message.Messages) []string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.UUID
	}
	return ids
}
