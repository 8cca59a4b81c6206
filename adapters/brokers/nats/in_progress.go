package nats

import (
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	natsgo "github.com/nats-io/nats.go"
)

// inFlight reads messages for the subscriber and keeps each in progress
// while it is handled, so that JetStream does not hand it to another
// serve when the handler outlasts AckWait (a store slow to commit, or
// down and retried).
type inFlight struct{ msgs sync.Map } // message UUID → *natsgo.Msg

// Unmarshal takes the body only: headers are ignored whatever they hold.
func (f *inFlight) Unmarshal(m *natsgo.Msg) (*message.Message, error) {
	msg := message.NewMessage(watermill.NewUUID(), m.Data)
	f.msgs.Store(msg.UUID, m)
	return msg, nil
}

// keepInProgress tells JetStream every interval that the message is
// still being worked on, until the handler returns.
func (f *inFlight) keepInProgress(interval time.Duration) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			raw, ok := f.msgs.LoadAndDelete(msg.UUID)
			if !ok {
				return h(msg)
			}
			done := make(chan struct{})
			defer close(done)
			go func() {
				tick := time.NewTicker(interval)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
						_ = raw.(*natsgo.Msg).InProgress() // a lost one only lets the message be redelivered
					}
				}
			}()
			return h(msg)
		}
	}
}

// redeliveryDelay is how long JetStream waits before redelivering a
// message whose store was down: doubling from a second with each
// delivery, at most a minute. A message is never given up.
type redeliveryDelay struct{}

func (redeliveryDelay) WaitTime(delivered uint64) time.Duration {
	const first, most = time.Second, time.Minute
	if delivered > 6 {
		return most
	}
	return min(first<<(max(delivered, 1)-1), most)
}
