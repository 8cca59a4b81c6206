package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// printTable writes the run's figures for people: each figure with its
// baseline, their ratio and the target.
func printTable(w io.Writer, r *results) {
	fmt.Fprintf(w, "\nctjournal benchmark (%s run, %.0f s)\nmachine: %s\npostgres: %s\nload average (1 min) at start %.2f, at end %.2f\n\n",
		map[bool]string{true: "quick", false: "full"}[r.Quick], r.Seconds, r.Machine, r.PostgresSettings, r.LoadStart, r.LoadEnd)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "figure\tctjournal\tbaseline\tratio\ttarget\t\tbaseline is\t")
	row := func(name string, v, base *float64, digits int, target string, met *bool, baseName string) {
		mark := ""
		if met != nil {
			mark = map[bool]string{true: "met", false: "MISSED"}[*met]
		}
		ratioText := "—"
		if v != nil && base != nil && *base != 0 && digits == 0 {
			ratioText = fmt.Sprintf("%.2f", *v / *base)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, show(v, digits), show(base, digits), ratioText, target, mark, baseName)
	}
	atLeast := func(v *float64, min float64) *bool {
		if v == nil {
			return nil
		}
		ok := *v >= min
		return &ok
	}
	atMost := func(v *float64, limit float64) *bool {
		if v == nil {
			return nil
		}
		ok := *v <= limit
		return &ok
	}
	// both is met when both parts are, and unknown when either is.
	both := func(a, b *bool) *bool {
		if a == nil || b == nil {
			return nil
		}
		ok := *a && *b
		return &ok
	}
	// share is a over b, unknown when either is.
	share := func(a, b *float64) *float64 {
		if a == nil || b == nil || *b == 0 {
			return nil
		}
		v := *a / *b
		return &v
	}
	row(fmt.Sprintf("ingest, single events, %d clients (events/s)", r.Plan["single_clients"]), r.IngestSingle, r.IngestSingleBase, 0,
		"ratio ≥ 0.70, ≥ 1.0 of the floor", both(atLeast(r.IngestSingleRatio, 0.70), atLeast(share(r.IngestSingle, r.IngestSingleFloor), 1.0)),
		"single-row INSERTs, autocommit")
	row("ingest, single events, bare HTTP + INSERT (events/s)", r.IngestSingleFloor, r.IngestSingleBase, 0,
		"", nil, "single-row INSERTs, autocommit")
	row(fmt.Sprintf("ingest, batches of 1000, %d clients (events/s)", r.Plan["batch_clients"]), r.IngestBatch, r.IngestBatchBase, 0,
		"ratio ≥ 0.75", atLeast(r.IngestBatchRatio, 0.75), "1000-row INSERTs, autocommit")
	row("ingest, NATS JetStream, messages of 1000 (events/s)", r.BrokerNATS, r.IngestBatch, 0,
		"ratio ≥ 0.80", atLeast(r.BrokerNATSRatio, 0.80), "HTTP batches of 1000, above")
	row("ingest, RabbitMQ, messages of 1000 (events/s)", r.BrokerAMQP, r.IngestBatch, 0,
		"ratio ≥ 0.80", atLeast(r.BrokerAMQPRatio, 0.80), "HTTP batches of 1000, above")
	row("decision latency p50 (ms)", r.DecisionP50, r.NotifyP50, 1, "", nil, "INSERT+NOTIFY → LISTEN")
	row("decision latency p99 (ms)", r.DecisionP99, r.NotifyP99, 1, "≤ 20", atMost(r.DecisionP99, 20), "INSERT+NOTIFY → LISTEN")
	row("decision latency max (ms)", r.DecisionMax, r.NotifyMax, 1, "", nil, "INSERT+NOTIFY → LISTEN")
	row("delivery (leads/s)", r.DeliveryPerS, r.DeliveryBase, 0, "≥ 2,000", atLeast(r.DeliveryPerS, 2000), "16 clients straight to the fake")
	row("rebuild (events/s)", r.RebuildPerS, r.RebuildScanPerS, 0, "≥ 100,000, ratio ≥ 0.30", both(atLeast(r.RebuildPerS, 100_000), atLeast(share(r.RebuildPerS, r.RebuildScanPerS), 0.30)), "ordered SELECT of the log")
	row("rebuild peak RSS (MB)", r.RebuildRSS, nil, 0, "≤ 150", atMost(r.RebuildRSS, 150), "")
	row("projection catch-up (events/s)", r.CatchUpPerS, nil, 0, "", nil, "")
	row("serve peak RSS (MB)", r.ServePeakRSS, nil, 0, "", nil, "")
	if r.Embedded != nil {
		const file = "on the same SQLite file"
		row("embedded: ingest, batches of 1000 (events/s)", r.EmbeddedBatch, r.EmbeddedBatchBase, 0,
			"ratio ≥ 0.50", atLeast(r.EmbeddedBatchRatio, 0.50), "1000-row INSERTs, autocommit, "+file)
		poll := "INSERT → poll every " + embeddedPollInterval.String()
		row("embedded: decision latency p50 (ms)", r.EmbeddedDecisionP50, r.EmbeddedPollP50, 1, "", nil, poll)
		row("embedded: decision latency p99 (ms)", r.EmbeddedDecisionP99, r.EmbeddedPollP99, 1, "≤ 50", atMost(r.EmbeddedDecisionP99, 50), poll)
		row("embedded: decision latency max (ms)", r.EmbeddedDecisionMax, r.EmbeddedPollMax, 1, "", nil, poll)
		row("embedded: rebuild (events/s)", r.EmbeddedRebuildPerS, r.EmbeddedRebuildScanPerS, 0, "≥ 100,000",
			atLeast(r.EmbeddedRebuildPerS, 100_000), "ordered SELECT of the log, "+file)
		row("embedded: rebuild peak RSS (MB)", r.EmbeddedRebuildRSS, nil, 0, "", nil, "")
		row("embedded: projection catch-up (events/s)", r.EmbeddedCatchUpPerS, nil, 0, "", nil, "")
		row("embedded: serve peak RSS (MB)", r.EmbeddedServePeakRSS, nil, 0, "", nil, "")
	}
	tw.Flush()

	if len(r.Growth) > 0 {
		fmt.Fprintln(w, "\nhow cost grows (short runs; ratio: to the first row)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "events stored\tingest single (events/s)\tratio\tdecision p50 (ms)\tp99 (ms)\tmax (ms)\tprojection catch-up (events/s)\t")
		first := r.Growth[0].IngestPerS
		for _, g := range r.Growth {
			fmt.Fprintf(tw, "%s\t%s\t%.2f\t%.1f\t%.1f\t%.1f\t%s\t\n", thousands(float64(g.StoredEvents)), thousands(g.IngestPerS),
				ratio(g.IngestPerS, first), g.Decision.P50, g.Decision.P99, g.Decision.Max, thousands(g.CatchUpPerS))
		}
		tw.Flush()
	}

	if len(r.GoBenchmarks) > 0 {
		fmt.Fprintln(w, "\ngo test -bench ./domain/")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "benchmark\tns/op\tB/op\tallocs/op\t")
		names := make([]string, 0, len(r.GoBenchmarks))
		for n := range r.GoBenchmarks {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			g := r.GoBenchmarks[n]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", n, thousands(g.NsPerOp), thousands(g.BytesPerOp), thousands(g.AllocsPerOp))
		}
		tw.Flush()
	}

	if len(r.CPU) > 0 {
		fmt.Fprintln(w, "\nwhere the CPU went (cores; the machine has "+fmt.Sprint(cpuCount())+"; \"ctjournal\" is the HTTP floor's server in its phase; \"other\" includes PostgreSQL backends that ended within 250 ms of a sample; \"steal\" is the hypervisor giving the CPUs to other machines)")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "phase\tctjournal\tpostgres\tpg shared\tbench\tirq\tnot this run: pg\tother\tidle\tiowait\tsteal\tlog held back by others\tconnections opened\tWAL (MB)\t")
		for _, name := range r.cpuOrder() {
			u := r.CPU[name]
			fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f%%\t%d\t%.1f\t\n",
				name, u.Engine, u.Postgres, u.PGShared, u.Bench, u.IRQ, u.PGOtherDB, u.Other, u.Idle, u.IOWait, u.Steal, 100*u.HeldBack, u.Connections, u.WALMB)
		}
		tw.Flush()
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nnotes:\n  "+strings.Join(r.Notes, "\n  "))
	}
}

func show(v *float64, digits int) string {
	switch {
	case v == nil:
		return "—"
	case digits == 0:
		return thousands(*v)
	default:
		return fmt.Sprintf("%.*f", digits, *v)
	}
}
