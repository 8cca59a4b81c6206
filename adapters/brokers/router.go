package brokers

import (
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"ctjournal/app"
)

// Deps is what a broker's consumer needs from the engine.
type Deps struct {
	Ingest  Ingest
	Observe func(app.IngestOutcome) // counts each message once it is answered
	Logger  watermill.LoggerAdapter
}

// RouterConfig is one broker's consumption.
type RouterConfig struct {
	Source     string // nats or amqp: names the handlers
	Topic      string // what the handlers subscribe to
	Subscriber message.Subscriber
	Handlers   int // subscriptions consumed at once
	// AtOnce bounds the messages handled at once over all subscriptions
	// (0: no bound beyond theirs).
	AtOnce      int
	Rejects     message.Publisher
	RejectTopic string
	// Outer middlewares run around all the others.
	Outer []message.HandlerMiddleware
}

// storeRetry retries a message whose store is down, with backoff, before
// it is nacked and redelivered later.
var storeRetry = middleware.Retry{
	MaxRetries:          5,
	InitialInterval:     250 * time.Millisecond,
	MaxInterval:         4 * time.Second,
	Multiplier:          2,
	MaxElapsedTime:      15 * time.Second,
	RandomizationFactor: 0.2,
	ShouldRetry:         func(p middleware.RetryParams) bool { return !isRefused(p.Err) },
}

// NewRouter builds the router of one broker. A message goes, outermost
// first, through: the outcome count; cfg.Outer; a wait for one of the
// cfg.AtOnce slots; PoisonQueue, which
// publishes a refused message to the reject topic with reason_poisoned
// and has it acknowledged (or nacked when the publish fails); Retry of
// store errors; Recoverer, which turns a panic into an error retried
// like a store's; the handler. An error left at the end nacks the
// message, to be redelivered.
func NewRouter(cfg RouterConfig, deps Deps) (*message.Router, error) {
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 15 * time.Second}, deps.Logger)
	if err != nil {
		return nil, fmt.Errorf("%s router: %w", cfg.Source, err)
	}
	poison, err := middleware.PoisonQueueWithFilter(cfg.Rejects, cfg.RejectTopic, isRefused)
	if err != nil {
		return nil, fmt.Errorf("%s reject destination %q: %w", cfg.Source, cfg.RejectTopic, err)
	}
	router.AddMiddleware(countOutcome(deps.Observe))
	router.AddMiddleware(cfg.Outer...)
	if cfg.AtOnce > 0 {
		router.AddMiddleware(atMost(cfg.AtOnce))
	}
	router.AddMiddleware(poison, storeRetry.Middleware, middleware.Recoverer)
	for i := range max(cfg.Handlers, 1) {
		router.AddNoPublisherHandler(fmt.Sprintf("%s-%d", cfg.Source, i+1), cfg.Topic, cfg.Subscriber, handle(deps.Ingest))
	}
	return router, nil
}

// atMost lets n messages at a time through; the others wait their turn,
// first come first served.
func atMost(n int) message.HandlerMiddleware {
	slots := make(chan struct{}, n)
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			select {
			case slots <- struct{}{}:
			case <-msg.Context().Done():
				return nil, fmt.Errorf("wait for a slot: %w", msg.Context().Err())
			}
			defer func() { <-slots }()
			return h(msg)
		}
	}
}
