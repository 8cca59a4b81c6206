package app

import (
	"errors"
	"fmt"
	"time"

	"ctjournal/domain"
)

// Application lists every command and query the ports may call: the whole
// surface of ctjournal at a glance. The delivery worker (app/delivery) runs
// beside it on the same Ports.
type Application struct {
	Commands Commands
	Queries  AppQueries
	// Projection folds each log record into the read models and queues
	// the leads it decides; the log's subscriber runs it.
	Projection ProjectRecord
}

// Commands change state.
type Commands struct {
	IngestBody    IngestBody
	SetPolicy     SetPolicy
	DisablePolicy DisablePolicy
	RedeliverLead RedeliverLead
	// RebuildReadModels recreates the read models from the log.
	RebuildReadModels RebuildReadModels
	// RetryQuarantined applies records the projection set aside again.
	RetryQuarantined RetryQuarantined
}

// AppQueries only read.
type AppQueries struct {
	GetPolicy    GetPolicy
	ExplainOrder ExplainOrder
	ListLeads    ListLeads
	// ExplainWidget and SimulatePolicy read the read models only.
	ExplainWidget  ExplainWidget
	SimulatePolicy SimulatePolicy
	// ListQuarantined lists the records the projection set aside; GetStatus
	// reports its lag, the quarantine and the delivery queue.
	ListQuarantined ListQuarantined
	GetStatus       GetStatus
	// ListPolicyVersions and CountLeadsPerDay show a widget's history in
	// the console.
	ListPolicyVersions ListPolicyVersions
	CountLeadsPerDay   CountLeadsPerDay
}

// Ports are every port the application speaks to (ports.go), one adapter
// each, and who speaks to it. LeadHandoff is not here: the delivery worker
// implements it and the projection's store calls it.
type Ports struct {
	EventLog        EventLog        // IngestEvents
	Policies        PolicyStore     // SetPolicy, DisablePolicy, GetPolicy, ExplainOrder, delivery
	ReadModel       ReadModel       // Projection
	Outbox          Outbox          // Projection
	DeliveryQueue   DeliveryQueue   // RedeliverLead, delivery
	Queries         Queries         // ExplainOrder, ListLeads
	Quarantine      Quarantine      // ExplainOrder, ListQuarantined, RetryQuarantined
	Status          StatusReader    // GetStatus
	WidgetSummaries WidgetSummaries // ExplainWidget
	History         History         // SimulatePolicy
	PolicyVersions  PolicyVersions  // ListPolicyVersions
	LeadsPerDay     LeadsPerDay     // CountLeadsPerDay
	Rebuild         RebuildStore    // RebuildReadModels
	Calltouch       Calltouch       // delivery
	SiteLimiter     SiteLimiter     // delivery
}

// Config is what the use cases need besides their ports; zero values take
// the defaults setDefaults gives.
type Config struct {
	// GiveUpAfter is how long a lead put back in the queue is tried
	// before it fails.
	GiveUpAfter time.Duration
	// AllowedHosts are the Calltouch servers a policy may name. The zero
	// value allows none.
	AllowedHosts domain.HostAllowlist
	Now          func() time.Time
}

func (c *Config) setDefaults() {
	if c.GiveUpAfter == 0 {
		c.GiveUpAfter = 24 * time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

func (c Config) validate() error {
	if c.GiveUpAfter < 0 {
		return fmt.Errorf("GiveUpAfter %s is negative", c.GiveUpAfter)
	}
	return nil
}

// validate checks the ports the commands and queries speak to are all
// there; Calltouch and SiteLimiter are the delivery worker's to check.
func (p Ports) validate() error {
	var errs []error
	for _, port := range []struct {
		name    string
		missing bool
	}{
		{"EventLog", p.EventLog == nil},
		{"Policies", p.Policies == nil},
		{"ReadModel", p.ReadModel == nil},
		{"Outbox", p.Outbox == nil},
		{"DeliveryQueue", p.DeliveryQueue == nil},
		{"Queries", p.Queries == nil},
		{"Quarantine", p.Quarantine == nil},
		{"Status", p.Status == nil},
		{"WidgetSummaries", p.WidgetSummaries == nil},
		{"History", p.History == nil},
		{"PolicyVersions", p.PolicyVersions == nil},
		{"LeadsPerDay", p.LeadsPerDay == nil},
		{"Rebuild", p.Rebuild == nil},
	} {
		if port.missing {
			errs = append(errs, fmt.Errorf("port %s is missing", port.name))
		}
	}
	return errors.Join(errs...)
}

// NewApplication builds every command and query on ports under cfg.
func NewApplication(ports Ports, cfg Config) (Application, error) {
	cfg.setDefaults()
	if err := errors.Join(cfg.validate(), ports.validate()); err != nil {
		return Application{}, fmt.Errorf("application: %w", err)
	}
	project := NewProjectRecord(ports.ReadModel, ports.Outbox)
	return Application{
		Commands: Commands{
			IngestBody:        NewIngestBody(NewIngestEvents(ports.EventLog)),
			SetPolicy:         NewSetPolicy(ports.Policies, cfg.AllowedHosts),
			DisablePolicy:     NewDisablePolicy(ports.Policies),
			RedeliverLead:     NewRedeliverLead(ports.DeliveryQueue, cfg.Now, cfg.GiveUpAfter),
			RebuildReadModels: NewRebuildReadModels(ports.Rebuild, cfg.Now),
			RetryQuarantined:  NewRetryQuarantined(ports.Quarantine, project),
		},
		Queries: AppQueries{
			GetPolicy:       NewGetPolicy(ports.Policies),
			ExplainOrder:    NewExplainOrder(ports.Queries, ports.Quarantine, ports.Policies),
			ListLeads:       NewListLeads(ports.Queries),
			ExplainWidget:   NewExplainWidget(ports.WidgetSummaries),
			SimulatePolicy:  NewSimulatePolicy(ports.History),
			ListQuarantined: NewListQuarantined(ports.Quarantine),
			GetStatus:       NewGetStatus(ports.Status),

			ListPolicyVersions: NewListPolicyVersions(ports.PolicyVersions),
			CountLeadsPerDay:   NewCountLeadsPerDay(ports.LeadsPerDay),
		},
		Projection: project,
	}, nil
}
