package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"ctjournal/wire"
)

// Raw INSERTs as watermill-sql's publisher writes the log: uuid, payload,
// metadata ("{}"), and the inserting transaction's id.
const insertOne = `INSERT INTO bench_raw (uuid, payload, metadata, transaction_id) VALUES ($1, $2, $3, pg_current_xact_id())`

var emptyMetadata = []byte("{}")

func insertMany(rows int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO bench_raw (uuid, payload, metadata, transaction_id) VALUES `)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "($%d,$%d,$%d,pg_current_xact_id())", 3*i+1, 3*i+2, 3*i+3)
	}
	return b.String()
}

// singleStreams prepares perClient events for each of clients: client c
// posts the orders of its own stream, each order's events in order.
// canonical also computes the rows for the raw-INSERT baseline.
func (b *bench) singleStreams(clients, perClient int, canonical bool) ([][]event, error) {
	prefix := b.nextPrefix("single")
	streams := make([][]event, clients)
	for c := range streams {
		streams[c] = newOrders(fmt.Sprintf("%s-c%d", prefix, c), ingestWidget).stream(0, perClient)
		if !canonical {
			continue
		}
		if err := withCanonical(streams[c]); err != nil {
			return nil, err
		}
	}
	return streams, nil
}

// ingestSingle posts the streams to the server at base (serve, or the HTTP
// floor's), one event per request, one client per stream, for at most
// limit, and records where the CPU went as phase.
func (b *bench) ingestSingle(ctx context.Context, phase, label, base string, streams [][]event, limit time.Duration) throughput {
	r := clientRun{label: label, clients: len(streams), ops: len(streams) * len(streams[0]), own: true,
		limit: limit, unit: 1, every: b.p.progressInterval}
	var t throughput
	_ = b.cpu(phase, func() error {
		t = r.run(ctx, func(ctx context.Context, c, i int) error {
			return b.postEventsTo(ctx, base, streams[c][i].envelope)
		})
		return nil
	})
	return t
}

// ingestSingleBaseline inserts the same rows into bench_raw, one row per
// autocommitted INSERT, one connection per client.
func (b *bench) ingestSingleBaseline(ctx context.Context, label string, streams [][]event, limit time.Duration) (throughput, error) {
	conns, err := openConns(ctx, b.db.db, len(streams))
	if err != nil {
		return throughput{}, err
	}
	defer closeAll(conns)
	r := clientRun{label: label, clients: len(streams), ops: len(streams) * len(streams[0]), own: true,
		limit: limit, unit: 1, every: b.p.progressInterval}
	return r.run(ctx, func(ctx context.Context, c, i int) error {
		e := streams[c][i]
		_, err := conns[c].ExecContext(ctx, insertOne, e.id, e.canonical, emptyMetadata)
		return err
	}), nil
}

// batches prepares n batches of wire.MaxBatch events.
func (b *bench) batches(n int) ([][]event, [][]byte, error) {
	all := newOrders(b.nextPrefix("batch"), ingestWidget).stream(0, n*wire.MaxBatch)
	if err := withCanonical(all); err != nil {
		return nil, nil, err
	}
	events := make([][]event, n)
	bodies := make([][]byte, n)
	for i := range n {
		events[i] = all[i*wire.MaxBatch : (i+1)*wire.MaxBatch]
		bodies[i] = batchBody(events[i])
	}
	return events, bodies, nil
}

func (b *bench) ingestBatches(ctx context.Context, label string, bodies [][]byte) throughput {
	r := clientRun{label: label, clients: b.p.batchClients, ops: len(bodies), limit: b.p.batchTimeLimit,
		unit: wire.MaxBatch, every: b.p.progressInterval}
	return r.run(ctx, func(ctx context.Context, _, i int) error {
		return b.postEvents(ctx, bodies[i])
	})
}

// ingestBatchesBaseline inserts the same rows, one multi-row INSERT of
// 1000 rows per batch, autocommitted: on PostgreSQL one connection per
// client; on the embedded store through the tool's one writing
// connection, which the clients take in turn as serve's appends do.
func (b *bench) ingestBatchesBaseline(ctx context.Context, label string, batches [][]event) (throughput, error) {
	r := clientRun{label: label, clients: b.p.batchClients, ops: len(batches), limit: b.p.batchTimeLimit,
		unit: wire.MaxBatch, every: b.p.progressInterval}
	if b.emb != nil {
		return r.run(ctx, func(ctx context.Context, _, i int) error { return b.emb.insertRows(ctx, batches[i]) }), nil
	}
	conns, err := openConns(ctx, b.db.db, b.p.batchClients)
	if err != nil {
		return throughput{}, err
	}
	defer closeAll(conns)
	query := insertMany(wire.MaxBatch)
	return r.run(ctx, func(ctx context.Context, c, i int) error {
		args := make([]any, 0, 3*len(batches[i]))
		for _, e := range batches[i] {
			args = append(args, e.id, e.canonical, emptyMetadata)
		}
		_, err := conns[c].ExecContext(ctx, query, args...)
		return err
	}), nil
}

// openConns opens n dedicated connections of db's pool.
func openConns(ctx context.Context, db *sql.DB, n int) ([]*sql.Conn, error) {
	out := make([]*sql.Conn, 0, n)
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			closeAll(out)
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func closeAll(conns []*sql.Conn) {
	for _, c := range conns {
		c.Close()
	}
}
