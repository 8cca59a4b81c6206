package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// results is bench/results.json. The headline keys are numbers, or null
// when the figure could not be measured (Notes says why).
type results struct {
	Machine          string    `json:"machine"`
	PostgresSettings string    `json:"postgres_settings"`
	Quick            bool      `json:"quick"`
	StartedAt        time.Time `json:"started_at"`
	Seconds          float64   `json:"duration_s"`
	LoadStart        float64   `json:"load_average_at_start"` // 1-minute load average: others' work shows here
	LoadEnd          float64   `json:"load_average_at_end"`

	IngestSingle      *float64 `json:"ingest_single_events_per_s"`
	IngestSingleBase  *float64 `json:"ingest_single_baseline_per_s"`
	IngestSingleRatio *float64 `json:"ingest_single_ratio"`
	// The bare HTTP floor (a net/http server doing one single-row INSERT a
	// request, floor.go) and its ratio to the raw INSERTs.
	IngestSingleFloor      *float64 `json:"ingest_single_http_floor_per_s"`
	IngestSingleFloorRatio *float64 `json:"ingest_single_http_floor_ratio"`
	IngestBatch            *float64 `json:"ingest_batch_events_per_s"`
	IngestBatchBase        *float64 `json:"ingest_batch_baseline_per_s"`
	IngestBatchRatio       *float64 `json:"ingest_batch_ratio"`
	DecisionP50            *float64 `json:"decision_p50_ms"`
	DecisionP99            *float64 `json:"decision_p99_ms"`
	DecisionMax            *float64 `json:"decision_max_ms"`
	NotifyP50              *float64 `json:"decision_baseline_notify_p50_ms"`
	NotifyP99              *float64 `json:"decision_baseline_notify_p99_ms"`
	NotifyMax              *float64 `json:"decision_baseline_notify_max_ms"`
	RebuildPerS            *float64 `json:"rebuild_events_per_s"`
	RebuildRSS             *float64 `json:"rebuild_peak_rss_mb"`
	RebuildScanPerS        *float64 `json:"rebuild_baseline_scan_per_s"`
	DeliveryPerS           *float64 `json:"delivery_leads_per_s"`
	DeliveryBase           *float64 `json:"delivery_baseline_fake_per_s"`
	CatchUpPerS            *float64 `json:"projection_catch_up_events_per_s"`
	ServePeakRSS           *float64 `json:"serve_peak_rss_mb"`

	// Batches of 1000 events published as messages, and their ratio to
	// the HTTP batch ingest (brokers.go).
	BrokerNATS      *float64 `json:"broker_nats_events_per_s"`
	BrokerNATSRatio *float64 `json:"broker_nats_ratio"`
	BrokerAMQP      *float64 `json:"broker_amqp_events_per_s"`
	BrokerAMQPRatio *float64 `json:"broker_amqp_ratio"`

	// The embedded store (embedded_phases.go): batch ingest, decision
	// latency and rebuild on its SQLite file, each next to a baseline on
	// the same file.
	EmbeddedBatch           *float64 `json:"embedded_ingest_batch_events_per_s"`
	EmbeddedBatchBase       *float64 `json:"embedded_ingest_batch_baseline_per_s"`
	EmbeddedBatchRatio      *float64 `json:"embedded_ingest_batch_ratio"`
	EmbeddedDecisionP50     *float64 `json:"embedded_decision_p50_ms"`
	EmbeddedDecisionP99     *float64 `json:"embedded_decision_p99_ms"`
	EmbeddedDecisionMax     *float64 `json:"embedded_decision_max_ms"`
	EmbeddedPollP50         *float64 `json:"embedded_decision_baseline_poll_p50_ms"`
	EmbeddedPollP99         *float64 `json:"embedded_decision_baseline_poll_p99_ms"`
	EmbeddedPollMax         *float64 `json:"embedded_decision_baseline_poll_max_ms"`
	EmbeddedRebuildPerS     *float64 `json:"embedded_rebuild_events_per_s"`
	EmbeddedRebuildScanPerS *float64 `json:"embedded_rebuild_baseline_scan_per_s"`
	EmbeddedRebuildRatio    *float64 `json:"embedded_rebuild_ratio"`
	EmbeddedRebuildRSS      *float64 `json:"embedded_rebuild_peak_rss_mb"`
	EmbeddedCatchUpPerS     *float64 `json:"embedded_projection_catch_up_events_per_s"`
	EmbeddedServePeakRSS    *float64 `json:"embedded_serve_peak_rss_mb"`

	Single       sides                  `json:"ingest_single"`
	Batch        sides                  `json:"ingest_batch"`
	Decision     *latency               `json:"decision"`
	Notify       *latency               `json:"decision_baseline_notify"`
	Delivery     *deliveryResult        `json:"delivery"`
	Rebuild      *rebuildResult         `json:"rebuild"`
	Growth       []growthRow            `json:"growth"`
	CPU          map[string]cpuUse      `json:"cpu"`
	GoBenchmarks map[string]goBenchmark `json:"go_benchmarks"`
	Plan         map[string]any         `json:"plan"`
	Notes        []string               `json:"notes"`

	NATS *throughput `json:"broker_nats"`
	AMQP *throughput `json:"broker_amqp"`

	Embedded *embeddedResult `json:"embedded"`

	cpuPhases []string // CPU's keys in the order measured
}

func (r *results) cpuOrder() []string { return r.cpuPhases }

func cpuCount() int { return runtime.NumCPU() }

// sides is one figure measured through ctjournal and by the baseline (and,
// for single events, against the bare HTTP floor).
type sides struct {
	Ctjournal *throughput `json:"ctjournal"`
	Baseline  *throughput `json:"baseline"`
	Floor     *throughput `json:"http_floor,omitempty"`
}

func newResults(p plan) *results {
	return &results{
		Quick: p.quick, StartedAt: time.Now().UTC().Truncate(time.Second),
		CPU: map[string]cpuUse{}, GoBenchmarks: map[string]goBenchmark{}, Notes: []string{},
		Plan: map[string]any{
			"single_clients": p.singleClients, "single_seconds": p.singleDuration.Seconds(),
			"batch_clients": p.batchClients, "batches_at_most": p.batches, "batch_seconds": p.batchTimeLimit.Seconds(),
			"latency_rate_per_s": p.latencyRate, "latency_seconds": p.latencyDuration.Seconds(),
			"delivery_leads": p.deliveryLeads, "growth_points": p.growthPoints, "embedded_load": p.embeddedLoad,
		},
	}
}

func num(v float64) *float64 { return &v }

func (r *results) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.Notes = append(r.Notes, msg)
	say("note: %s", msg)
}

// machine describes where the run happened.
func machine(pgVersion string) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	mem := "unknown memory"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				mem = fmt.Sprintf("%.1f GiB RAM", kb/(1<<20))
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s; PostgreSQL %s on the same machine; %s %s/%s",
		cpu, runtime.NumCPU(), mem, pgVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func writeResults(path string, r *results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// loadAverage is the 1-minute load average.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
