package sqlitelog_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/tests"

	"ctjournal/adapters/sqlite/sqlitelog"
)

// Watermill's universal Pub/Sub suite, with the features watermill-sql
// declares for its MySQL adapters, on one SQLite file. Every Pub/Sub the
// suite makes opens the file with a pool of its own, as another process
// would, so its writers meet the others' at SQLite's lock, not in a pool.
func TestPubSub_WatermillUniversalSuite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.db")
	newPubSub := func(t *testing.T, consumerGroup string) (message.Publisher, message.Subscriber) {
		db, err := sqlitelog.Open(path)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		schema := sqlitelog.Schema{}
		logger := watermill.NewStdLogger(false, false)
		pub, err := wsql.NewPublisher(wsql.BeginnerFromStdSQL(db), wsql.PublisherConfig{SchemaAdapter: schema}, logger)
		if err != nil {
			t.Fatalf("publisher: %v", err)
		}
		// A subscriber holds the file's write lock while its message waits
		// for a handler. TestMessageCtx publishes a second message before
		// it reads the first: the publish waits for the lock until the ack
		// deadline takes the unread message back, well within the busy
		// timeout. Polling slower than SQLite's longest wait between two
		// tries for the lock (100 ms) lets the waiting publish in before
		// the subscriber takes the lock again.
		ackDeadline := 2 * time.Second
		sub, err := wsql.NewSubscriber(wsql.BeginnerFromStdSQL(db), wsql.SubscriberConfig{
			ConsumerGroup:  consumerGroup,
			PollInterval:   250 * time.Millisecond,
			ResendInterval: 5 * time.Millisecond,
			AckDeadline:    &ackDeadline,
			SchemaAdapter:  schema,
			OffsetsAdapter: sqlitelog.Offsets{},
		}, logger)
		if err != nil {
			t.Fatalf("subscriber: %v", err)
		}
		return pub, &closeWaitingSubscriber{Subscriber: sub}
	}
	tests.TestPubSub(t, tests.Features{
		ConsumerGroups:      true,
		ExactlyOnceDelivery: true,
		GuaranteedOrder:     true,
		Persistent:          true,
	}, func(t *testing.T) (message.Publisher, message.Subscriber) {
		return newPubSub(t, "test")
	}, newPubSub)
}

// closeWaitingSubscriber works around a race in watermill-sql's Subscriber:
// Close returns once its consuming goroutines are done, a moment before
// each closes its output channel, and the suite checks that the channel is
// closed right after Close. This Close also waits for that; once the
// consuming goroutines are done, nothing is sent on the channels any more,
// so draining them takes no message.
type closeWaitingSubscriber struct {
	*wsql.Subscriber
	mu      sync.Mutex
	outputs []<-chan *message.Message
}

func (s *closeWaitingSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	out, err := s.Subscriber.Subscribe(ctx, topic)
	if err == nil {
		s.mu.Lock()
		s.outputs = append(s.outputs, out)
		s.mu.Unlock()
	}
	return out, err
}

func (s *closeWaitingSubscriber) Close() error {
	err := s.Subscriber.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, out := range s.outputs {
		for range out {
		}
	}
	return err
}
