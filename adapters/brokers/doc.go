// Package brokers takes call events from message brokers beside HTTP
// (contract.md, Events from brokers): every message body is a POST
// /v1/events body, ingested by the same use case, through a Watermill
// router whose middlewares acknowledge a message only once it is stored,
// retry the store with backoff, and send a message refused for its content
// to the broker's reject destination. Subpackages nats and amqp connect
// the router to each broker.
package brokers
