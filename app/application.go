package app

// Application lists every command and query the ports may call: the whole
// surface of ctjournal at a glance.
type Application struct {
	Commands Commands
	Queries  AppQueries
}

// Commands change state.
type Commands struct {
	IngestEvents  IngestEvents
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
