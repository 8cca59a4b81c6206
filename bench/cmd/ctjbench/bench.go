package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"ctjournal/adapters/calltouch/calltouchfake"
)

// Widgets of the run: leads go to the fake Calltouch through leadWidget's
// policy; the other widgets have no policy, so their orders are decided
// "skip" and the ingest and bulk phases send nothing.
const (
	leadWidget   = "bench-leads"
	ingestWidget = "bench-ingest"
	bulkWidget   = "bench-bulk"
)

// bench is one run: its database, the fake Calltouch, the running engine and
// what has been measured so far.
type bench struct {
	cfg    config
	p      plan
	db     *database
	fake   *calltouchfake.Server
	eng    *engine
	floor  *floorServer // the HTTP floor's server, while its side runs
	client *http.Client
	seq    int // makes the order ids of each phase unique
	prof   *profiler
	starts int
	// deadline is when the run's budget ends: loads for growth points
	// that would not finish before it are skipped.
	deadline time.Time
	res      *results

	brokers *brokers // the run's NATS and RabbitMQ, for the broker phase
	// emb is the embedded store's file while its phases run; the
	// PostgreSQL database otherwise.
	emb *embeddedFile
}

func newBench(ctx context.Context, cfg config) (*bench, error) {
	db, err := createDatabase(ctx, cfg.adminDB)
	if err != nil {
		return nil, err
	}
	var prof *profiler
	if cfg.profile != "" {
		if err := os.MkdirAll(cfg.profile, 0o755); err != nil {
			db.drop()
			return nil, err
		}
		seconds := 10
		if cfg.plan.quick {
			seconds = 3
		}
		prof = &profiler{dir: cfg.profile, seconds: seconds, db: db.admin, dbName: db.name}
	}
	transport := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, DisableCompression: true}
	res := newResults(cfg.plan)
	return &bench{
		cfg: cfg, p: cfg.plan, db: db, fake: calltouchfake.New(),
		client: &http.Client{Transport: transport, Timeout: 60 * time.Second},
		res:    res, prof: prof, brokers: connectBrokers(db.name, res),
	}, nil
}

func (b *bench) close() error {
	var errs []error
	if b.eng != nil {
		if _, err := b.eng.stop(); err != nil {
			errs = append(errs, err)
		}
		b.eng = nil
	}
	b.fake.Close()
	if err := b.brokers.close(); err != nil {
		errs = append(errs, err)
	}
	if b.cfg.keep {
		say("kept database %s", b.db.name)
		b.db.db.Close()
		b.db.admin.Close()
	} else if err := b.db.drop(); err != nil {
		errs = append(errs, fmt.Errorf("drop database %s: %w", b.db.name, err))
	}
	return errors.Join(errs...)
}

func (b *bench) nextPrefix(kind string) string {
	b.seq++
	return fmt.Sprintf("%s%d", kind, b.seq)
}

// enginePID is the process the CPU split counts as ctjournal: the server
// side, which is the HTTP floor's server while its side runs.
func (b *bench) enginePID() int {
	switch {
	case b.floor != nil:
		return b.floor.pid()
	case b.eng != nil:
		return b.eng.pid()
	}
	return 0
}

// cpu runs fn, right after a checkpoint, and records where the machine's
// CPU went meanwhile.
func (b *bench) cpu(phase string, fn func() error) error {
	debug := ""
	if b.eng != nil {
		debug = b.eng.debug
	}
	phase = b.phaseName(phase)
	b.store().checkpoint(context.Background())
	endProfile := b.prof.phase(debug, phase)
	sessions, wal := b.db.sessions(), b.db.walPosition()
	phaseUse := trackCPU(b.enginePID, b.db.name)
	watching, stopWatch := context.WithCancel(context.Background())
	held := make(chan float64, 1)
	go func() { held <- b.heldByOthers(watching) }()
	err := fn()
	use := phaseUse()
	stopWatch()
	use.HeldBack = <-held
	if b.emb == nil {
		// PostgreSQL's counters say nothing of the embedded store.
		use.Connections = b.db.sessions() - sessions
		use.WALMB = float64(b.db.walPosition()-wal) / (1 << 20)
	}
	endProfile()
	if _, seen := b.res.CPU[phase]; !seen {
		b.res.cpuPhases = append(b.res.cpuPhases, phase)
	}
	b.res.CPU[phase] = use
	say("%s: %s", phase, use)
	return err
}

// phaseName is phase as the CPU split and the profiles name it: the
// embedded store's phases are told apart by a prefix.
func (b *bench) phaseName(phase string) string {
	if b.emb != nil {
		return "embedded " + phase
	}
	return phase
}

// start starts serve, waiting up to a minute for a PostgreSQL server that
// is restarting.
func (b *bench) start(ctx context.Context) error {
	var eng *engine
	var err error
	for range 30 {
		eng, err = startEngine(ctx, b.cfg.bin, b.storeEnv(), b.prof != nil, b.brokerEnv()...)
		if err == nil || !strings.Contains(err.Error(), "connect to database") {
			break
		}
		say("PostgreSQL cannot be reached; trying again in 2 s")
		time.Sleep(2 * time.Second)
	}
	if err != nil {
		return err
	}
	if b.prof != nil {
		b.starts++
		eng.keepLog = filepath.Join(b.prof.dir, fmt.Sprintf("serve-%d.log", b.starts))
	}
	b.eng = eng
	return nil
}

// storeEnv points ctjournal at the store measured now: the run's
// PostgreSQL database, or the embedded store's data directory with
// DATABASE_URL unset.
func (b *bench) storeEnv() []string {
	if b.emb != nil {
		return []string{"CTJ_DATA_DIR=" + b.emb.dir}
	}
	return []string{"DATABASE_URL=" + b.db.url}
}

// brokerEnv connects serve to the run's brokers; the broker phase runs on
// PostgreSQL only.
func (b *bench) brokerEnv() []string {
	if b.emb != nil {
		return nil
	}
	return b.brokers.env()
}

// post sends a JSON body to url and returns the status, the body read to
// the end so the connection is reused.
func (b *bench) post(ctx context.Context, method, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}

// postEvents sends one envelope or an array to serve and wants 202.
func (b *bench) postEvents(ctx context.Context, body []byte) error {
	return b.postEventsTo(ctx, b.eng.base, body)
}

// postEventsTo is postEvents to the server at base: serve, or the HTTP
// floor's server.
func (b *bench) postEventsTo(ctx context.Context, base string, body []byte) error {
	status, answer, err := b.post(ctx, http.MethodPost, base+"/v1/events", body)
	if err != nil {
		return err
	}
	if status != http.StatusAccepted {
		return fmt.Errorf("POST /v1/events: %d %s", status, answer)
	}
	return nil
}

// setLeadPolicy points leadWidget at the fake Calltouch: after_call, no
// filter, so every call.answered of an ordered order is one lead.
func (b *bench) setLeadPolicy(ctx context.Context) error {
	body := fmt.Appendf(nil, `{"enabled":true,"site_id":"bench","server":%q,"token":"bench-token-000001",
		"hook":"after_call","only_successful":false,"only_last_attempt":false,"send_form_name":true,
		"send_order_date":true,"comment_details":false,"tap2call":false}`, b.fake.URL())
	status, answer, err := b.post(ctx, http.MethodPut, b.eng.base+"/v1/widgets/"+leadWidget+"/calltouch", body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("PUT policy: %d %s", status, answer)
	}
	return nil
}

// settle waits until the projection has folded the whole log and, when
// leads is set, no lead is pending. It returns how long that took and the
// backlog it started from.
func (b *bench) settle(ctx context.Context, label string, leads bool, limit time.Duration) (time.Duration, int64, error) {
	start := time.Now()
	var first, lastLag int64 = -1, -1
	lastPrint, lastMove, lastStuckNote := start, start, time.Time{}
	for time.Since(start) < limit {
		pending := 0
		if leads {
			var err error
			if pending, err = b.store().pendingLeads(ctx); err != nil {
				return 0, 0, err
			}
		}
		lag, caughtUp, err := b.store().backlog(ctx)
		if err != nil {
			return 0, 0, err
		}
		if first < 0 {
			first = lag
		}
		if caughtUp && pending == 0 {
			return time.Since(start), first, nil
		}
		if b.eng != nil {
			if err := b.eng.gone(); err != nil {
				return time.Since(start), first, err
			}
		}
		if lag != lastLag {
			lastLag, lastMove = lag, time.Now()
		} else if time.Since(lastMove) >= 10*time.Second && time.Since(lastStuckNote) >= 30*time.Second {
			lastStuckNote = time.Now()
			say("settle: %s: the projection has not moved for %s; %s",
				label, time.Since(lastMove).Round(time.Second), b.store().holdingBack(ctx))
			if b.prof != nil && b.eng != nil {
				b.prof.goroutines(b.eng.debug, "stuck-"+label)
			}
		}
		if time.Since(lastPrint) >= b.p.progressInterval {
			lastPrint = time.Now()
			fmt.Fprintf(os.Stderr, "  %-28s %6.1fs  projection backlog ~%s records, %d leads pending\n",
				"settle: "+label, time.Since(start).Seconds(), thousands(float64(lag)), pending)
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return time.Since(start), first, fmt.Errorf("%s: the projection and deliveries did not settle within %s", label, limit)
}
