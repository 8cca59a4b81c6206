package app

import "context"

// EngineStatus is the engine's state for operators (GET /v1/status).
type EngineStatus struct {
	Projection ProjectionStatus `json:"projection"`
	// QuarantinedRecords counts the log records the projection set aside.
	QuarantinedRecords int64 `json:"quarantined_records"`
	// DeliveryQueue counts the queued leads by status.
	DeliveryQueue map[string]int64 `json:"delivery_queue"`
	// Brokers is each configured broker consumer by source (nats, amqp),
	// filled in by serve, which runs them.
	Brokers map[string]BrokerStatus `json:"brokers"`
}

// BrokerStatus is a broker consumer's state: subscribed once, for good;
// connected while its connection is up.
type BrokerStatus struct {
	Subscribed bool `json:"subscribed"`
	Connected  bool `json:"connected"`
}

// ProjectionStatus is how far the projection is behind the log, and why.
type ProjectionStatus struct {
	// BehindRecords counts committed log records not folded yet.
	BehindRecords int64 `json:"behind_records"`
	// HeldBackRecords counts those of them the projection cannot see yet:
	// it reads only records older than the oldest transaction open on the
	// database server.
	HeldBackRecords int64 `json:"held_back_records"`
	// LagSeconds is the age of the oldest record not folded yet; 0 when
	// none is waiting.
	LagSeconds float64 `json:"lag_seconds"`
	// HeldBackBy is the oldest open transaction while records are held
	// back; nil otherwise.
	HeldBackBy *OpenTransaction `json:"held_back_by"`
}

// OpenTransaction describes a transaction open on the database server,
// never what it runs: another application's SQL text is its own.
type OpenTransaction struct {
	PID        int     `json:"pid"`
	Database   string  `json:"database"`
	User       string  `json:"user"`
	State      string  `json:"state"`
	AgeSeconds float64 `json:"age_seconds"`
}

// GetStatus reports the projection's lag, what holds it back, the
// quarantined records and the delivery queue.
type GetStatus struct{ status StatusReader }

func NewGetStatus(s StatusReader) GetStatus { return GetStatus{status: s} }

func (h GetStatus) Handle(ctx context.Context) (EngineStatus, error) {
	return h.status.Status(ctx)
}
